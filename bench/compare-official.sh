#!/usr/bin/env bash
# Run the official Qwen3-ASR implementation (PyPI `qwen-asr`, transformers backend, CPU) and Earshot
# on the same clip, shapes, thread count and machine; print a Markdown table per shape with ratios
# against the official float32 run and pass/fail against Earshot's speed goals.
#
#   bench/compare-official.sh [--shapes 0.6b,1.7b] [--threads 2] [--runs 3] [--max-tokens 32]
#       [--official-dtypes float32,bfloat16] [--earshot-precisions q8,native[,NAME=FILE.gguf]]
#       [--checkpoint-0.6b DIR] [--checkpoint-1.7b DIR] [--audio CLIP.wav] [--earshot PATH]
#       [--venv DIR] [--keep-venv] [--workdir DIR] [--json FILE] [--fail-on-goals]
#       [--skip-official | --official-results FILE,...] [--skip-earshot | --earshot-results SHAPE=FILE,...]
#
# Checkpoints: random weights at the real shapes, made by `earshot make-random-checkpoint --shape S`
# (published tensor names, bf16, shards, config.json, tokenizer files, preprocessor_config.json,
# chat_template.json, generation_config.json) unless given with --checkpoint-S. Both runtimes read
# the same directory. Clip: an 8 s 16 kHz mono synthetic speech-like WAV (`compare_official.py
# make-clip`) unless --audio is given. Random weights give random text; both sides are made to
# generate exactly --max-tokens tokens (official: min_new_tokens = max_new_tokens; the Earshot
# count is shown in its JSON).
#
# Official side: a throwaway virtualenv under ${TMPDIR:-/tmp} (removed at exit unless --keep-venv;
# --venv DIR reuses or creates DIR and keeps it) with `qwen-asr` from PyPI and CPU torch (the
# PyTorch CPU index first, plain PyPI if that index is unreachable). One Python process per shape
# and dtype; how TTFT, encoder and decode are timed is documented at the top of compare_official.py.
#
# Earshot side: `earshot bench speed --model DIR --audio CLIP --threads T --runs K --max-tokens N
# --json OUT [--precision P]` per precision.
#
# Heavy: 0.6B float32 needs ~4.5 GB RAM and ~1 min per shape on 2 cores; 1.7B ~9 GB. The machine
# is usually shared: keep --runs small.
set -euo pipefail

# The whole script is one function, parsed before it runs: editing the file during a long run is safe.
main() {

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
driver="$here/compare_official.py"

shapes="0.6b"
threads=2
runs=3
warmup=1
max_tokens=32
official_dtypes="float32"
earshot_precisions="q8,native"
ckpt_06=""
ckpt_17=""
audio=""
earshot="$repo/.build/release/earshot"
venv=""
keep_venv=0
workdir=""
json_out=""
fail_on_goals=0
skip_official=0
skip_earshot=0
official_results=""
earshot_results=""
python="${PYTHON:-python3}"

die() { echo "compare-official: $*" >&2; exit 1; }
usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --shapes) shapes="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --max-tokens) max_tokens="$2"; shift 2 ;;
    --official-dtypes) official_dtypes="$2"; shift 2 ;;
    --earshot-precisions) earshot_precisions="$2"; shift 2 ;;
    --checkpoint-0.6b) ckpt_06="$2"; shift 2 ;;
    --checkpoint-1.7b) ckpt_17="$2"; shift 2 ;;
    --audio) audio="$2"; shift 2 ;;
    --earshot) earshot="$2"; shift 2 ;;
    --venv) venv="$2"; keep_venv=1; shift 2 ;;
    --keep-venv) keep_venv=1; shift ;;
    --workdir) workdir="$2"; shift 2 ;;
    --json) json_out="$2"; shift 2 ;;
    --fail-on-goals) fail_on_goals=1; shift ;;
    --skip-official) skip_official=1; shift ;;
    --skip-earshot) skip_earshot=1; shift ;;
    --official-results) official_results="$2"; skip_official=1; shift 2 ;;
    --earshot-results) earshot_results="$2"; skip_earshot=1; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "compare-official: unknown option $1" >&2; usage 2 ;;
  esac
done

for n in "$threads" "$runs" "$warmup" "$max_tokens"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "expected a number, got '$n'"
done
(( max_tokens >= 2 )) || die "--max-tokens must be >= 2 (decode speed needs two tokens)"
(( runs >= 1 )) || die "--runs must be >= 1"
IFS=',' read -r -a shape_list <<< "${shapes,,}"
IFS=',' read -r -a dtype_list <<< "$official_dtypes"
IFS=',' read -r -a prec_list <<< "$earshot_precisions"
for s in "${shape_list[@]}"; do [[ "$s" == 0.6b || "$s" == 1.7b ]] || die "unknown shape '$s' (0.6b or 1.7b)"; done
for d in "${dtype_list[@]}"; do
  [[ "$d" == float32 || "$d" == bfloat16 ]] || die "unknown official dtype '$d' (float32 or bfloat16)"
done

tmp_root="${TMPDIR:-/tmp}"
if [[ -z "$workdir" ]]; then workdir="$(mktemp -d "$tmp_root/earshot-compare.XXXXXX")"; fi
mkdir -p "$workdir"
workdir="$(cd "$workdir" && pwd)"
created_venv=""
cleanup() {
  if [[ -n "$created_venv" && $keep_venv -eq 0 ]]; then rm -rf "$created_venv"; fi
}
trap cleanup EXIT
echo "compare-official: work directory $workdir" >&2

run_official=0; run_earshot=0
[[ -z "$official_results" && $skip_official -eq 0 ]] && run_official=1
[[ -z "$earshot_results" && $skip_earshot -eq 0 ]] && run_earshot=1
need_earshot=$run_earshot
if (( run_official || run_earshot )); then
  for s in "${shape_list[@]}"; do
    if [[ "$s" == 0.6b && -z "$ckpt_06" ]] || [[ "$s" == 1.7b && -z "$ckpt_17" ]]; then need_earshot=1; fi
  done
fi
if (( need_earshot )); then
  [[ -x "$earshot" ]] || die "earshot binary not found at $earshot (build with 'swift build -c release' or pass --earshot PATH)"
fi
if (( run_earshot )); then
  # ArgumentParser prints the parent's help (exit 0) for an unknown subcommand: look for it in the list.
  if ! "$earshot" bench --help 2>&1 | grep -qE '^[[:space:]]+speed([[:space:]]|$)'; then
    die "$earshot has no 'bench speed' subcommand (needed for the Earshot side); build a version that has it, or use --skip-earshot / --earshot-results SHAPE=FILE"
  fi
fi

# --- checkpoints ----------------------------------------------------------------------------------
declare -A ckpt
ckpt[0.6b]="$ckpt_06"
ckpt[1.7b]="$ckpt_17"
if (( run_official || run_earshot )); then
  for s in "${shape_list[@]}"; do
    if [[ -z "${ckpt[$s]}" ]]; then
      ckpt[$s]="$workdir/qwen3-asr-$s-random"
      if [[ ! -f "${ckpt[$s]}/config.json" ]]; then
        echo "compare-official: making a random $s checkpoint in ${ckpt[$s]}" >&2
        "$earshot" make-random-checkpoint --shape "$s" "${ckpt[$s]}" >&2
      fi
    fi
    [[ -f "${ckpt[$s]}/config.json" ]] || die "no config.json in ${ckpt[$s]}"
  done
fi

# --- clip -----------------------------------------------------------------------------------------
if (( run_official || run_earshot )); then
  if [[ -z "$audio" ]]; then
    audio="$workdir/clip-8s-16k.wav"
    [[ -f "$audio" ]] || "$python" "$driver" make-clip "$audio" --seconds 8
  fi
  [[ -f "$audio" ]] || die "audio clip $audio not found"
  audio="$(cd "$(dirname "$audio")" && pwd)/$(basename "$audio")"
fi

# --- official -------------------------------------------------------------------------------------
official_jsons=()
if [[ -n "$official_results" ]]; then
  IFS=',' read -r -a official_jsons <<< "$official_results"
elif (( run_official )); then
  if [[ -z "$venv" ]]; then
    venv="$(mktemp -d "$tmp_root/earshot-official-venv.XXXXXX")"
    created_venv="$venv"
  fi
  vpy="$venv/bin/python"
  if [[ ! -x "$vpy" ]]; then
    echo "compare-official: creating virtualenv $venv" >&2
    "$python" -m venv "$venv" || die "python -m venv failed (Debian: apt-get install python3-venv)"
  fi
  if ! "$vpy" -c 'import qwen_asr, torch' > /dev/null 2>&1; then
    "$vpy" -m pip install --quiet --upgrade pip >&2 || true
    echo "compare-official: installing CPU torch" >&2
    if ! "$vpy" -m pip install --quiet --retries 1 --timeout 20 torch \
         --index-url https://download.pytorch.org/whl/cpu >&2; then
      echo "compare-official: PyTorch CPU index unreachable; installing torch from PyPI (the PyPI wheel also pulls CUDA libraries, several GB)" >&2
      "$vpy" -m pip install --quiet torch >&2 || die "pip install torch failed"
    fi
    echo "compare-official: installing qwen-asr" >&2
    "$vpy" -m pip install --quiet qwen-asr >&2 || die "pip install qwen-asr failed"
  fi
  "$vpy" -c 'import importlib.metadata as m; print("compare-official: qwen-asr", m.version("qwen-asr"), "transformers", m.version("transformers"), "torch", m.version("torch"))' >&2
  for s in "${shape_list[@]}"; do
    for d in "${dtype_list[@]}"; do
      out="$workdir/official-$s-$d.json"
      echo "compare-official: official $s $d ($threads threads, $warmup warm-up + $runs runs, $max_tokens tokens)" >&2
      OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
      TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
        "$vpy" "$driver" official --checkpoint "${ckpt[$s]}" --shape "$s" --dtype "$d" --audio "$audio" \
          --threads "$threads" --runs "$runs" --warmup "$warmup" --max-new-tokens "$max_tokens" --out "$out" \
        || die "official run failed for $s $d (see the messages above)"
      official_jsons+=("$out")
    done
  done
fi

# --- Earshot --------------------------------------------------------------------------------------
earshot_args=()
if [[ -n "$earshot_results" ]]; then
  IFS=',' read -r -a items <<< "$earshot_results"
  for it in "${items[@]}"; do earshot_args+=(--earshot "$it"); done
elif (( run_earshot )); then
  # The official processes free 7-13 GB on exit; the kernel reclaims it for a while afterwards,
  # which measured as a 1.5x slower first Earshot run. Let the machine settle before timing.
  if (( ${#official_jsons[@]} > 0 )); then sleep "${EARSHOT_COMPARE_SETTLE:-30}"; fi
  for s in "${shape_list[@]}"; do
    for p in "${prec_list[@]}"; do
      # NAME=FILE.gguf: a converted file (e.g. `earshot convert --quantize-encoder`), labelled NAME.
      local name="$p" model="${ckpt[$s]}" precision_args=(--precision "$p")
      if [[ "$p" == *=* ]]; then name="${p%%=*}"; model="${p#*=}"; precision_args=(); fi
      out="$workdir/earshot-$s-$name.json"
      echo "compare-official: earshot $s $name" >&2
      "$earshot" bench speed --model "$model" --audio "$audio" --threads "$threads" --runs "$runs" \
        --max-tokens "$max_tokens" --json "$out" "${precision_args[@]}" >&2 \
        || die "earshot bench speed failed for $s $name"
      [[ -s "$out" ]] || die "earshot bench speed wrote no JSON to $out"
      if [[ "$p" == *=* ]]; then
        "$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); d["precision"]=sys.argv[2]; json.dump(d, open(sys.argv[1], "w"))' "$out" "$name"
      fi
      earshot_args+=(--earshot "$s=$out")
    done
  done
fi

# --- report ---------------------------------------------------------------------------------------
report_args=()
for f in "${official_jsons[@]}"; do report_args+=(--official "$f"); done
report_args+=("${earshot_args[@]}")
[[ -n "$json_out" ]] && report_args+=(--json "$json_out")
(( fail_on_goals )) && report_args+=(--fail-on-goals)
(( ${#report_args[@]} > 0 )) || die "nothing to report"
"$python" "$driver" report "${report_args[@]}"
}

main "$@"
