#!/usr/bin/env bash
# Run chatllm.cpp (github.com/foldl/chatllm.cpp, C++/ggml) and Earshot on Qwen3-ASR 0.6B at 8-bit
# weights, same clip, thread count, token count and machine; print a Markdown table (TTFT, decode
# tokens/s, peak RSS, Earshot/chatllm ratios) and optionally write JSON.
#
#   bench/compare-chatllm.sh [--chatllm-src DIR] [--build-dir DIR] [--model-dir DIR] [--jobs 2]
#       [--checkpoint DIR] [--audio CLIP.wav] [--threads 2] [--runs 3] [--max-tokens 32]
#       [--earshot PATH] [--earshot-model FILE.gguf] [--convert-python PY] [--json OUT] [--workdir DIR]
#
# chatllm.cpp is pinned to CHATLLM_COMMIT below. --chatllm-src (default /tmp/chatllm/src) must be a
# checkout at exactly that commit (the script stops otherwise; if the directory does not exist it
# clones github.com/foldl/chatllm.cpp there and checks the commit out). At that commit ggml is
# vendored in the tree (ggml/, no submodules). Build (skipped when --build-dir already holds a build
# of the pinned commit with the same flags): `cmake -B BUILD -DCMAKE_BUILD_TYPE=Release
# -DGGML_NATIVE=ON` (ggml's CPU backend gets -march=native: AVX-512/VNNI/BF16 where the CPU has them)
# and `nice -n 19 cmake --build BUILD -j JOBS --target libchatllm`. The shared library is what the
# timing needs: chatllm's `main` runs ASR models through a loop that prints no timings, while the
# library exposes the same front end plus chatllm_show_statistics (see compare_chatllm.py).
#
# Model: the checkpoint (default ~/.cache/earshot/qwen3-asr-0.6b, published Qwen3-ASR layout, bf16
# safetensors; random weights are fine) converted once with chatllm's convert.py
# `-i VIEW -t q8_0 -o MODEL_DIR/qwen3-asr-0.6b-q8.bin --name Qwen3-ASR-0.6B` (cached; reconverted
# when the commit, the checkpoint's config.json or its safetensors change). VIEW is a symlink view
# of the checkpoint whose config.json gets three keys chatllm reads and Earshot's random checkpoints
# omit (compare_chatllm.py, "Why a checkpoint view"). convert.py runs in --convert-python (default
# ~/.cache/earshot/official-venv/bin/python: torch + transformers; `sentencepiece`, imported by
# convert.py, is pip-installed into it if missing). chatllm q8_0 quantizes every linear weight of
# the encoder and the decoder (conv weights f16, norms f32); Earshot `--precision q8` quantizes the
# decoder and keeps the encoder as stored, so the like-for-like Earshot side is a file from
# `earshot convert --precision q8 --quantize-encoder CHECKPOINT FILE.gguf`, given as --earshot-model
# (its conv stem then runs as q8_0 GEMMs too).
#
# Runs: --runs rounds; each round runs both engines, one fresh process each, order alternating
# (odd rounds chatllm first, even rounds Earshot first). Each process loads the model, serves one
# untimed warm-up request and one timed request of exactly --max-tokens greedy tokens.
#   chatllm : compare_chatllm.py chatllm (ctypes on libchatllm, `-n T -t 0 --max_new_tokens N`).
#             TTFT = wall time from chatllm_user_input to its return minus chatllm's own "eval time"
#             (= ffmpeg decode + log-mel + tokenize + audio encoder + LLM prefill), minus the same
#             ffmpeg command timed alone, so the audio is "already decoded" as on the Earshot side.
#             encoder+prefill = chatllm's "prompt eval time". decode tok/s = chatllm's "eval time"
#             ((N-1) tokens after the first). Peak RSS = the driver process's VmHWM (Python included;
#             its baseline is reported). Details and caveats at the top of compare_chatllm.py.
#   Earshot : `EARSHOT bench speed --model CHECKPOINT --precision q8 --audio CLIP --threads T --runs 1
#             --max-tokens N --json FILE` (1 warm-up + 1 timed run; EOS ignored). ttft_ms = request
#             start (samples in memory) to the argmax of token 1: log-mel + encoder + prefill;
#             decode_tokens_per_second = (N-1) / time from token 1 to token N; peak_rss_bytes = VmHWM
#             after the runs (before its bandwidth/sgemm probe, which also runs in that process).
# Table: medians over the rounds; ratios are Earshot / chatllm (TTFT and RSS: < 1 is Earshot
# better; decode tok/s: > 1 is Earshot faster).
#
# Heavy: the chatllm build takes ~7 min per target on 2 cores (niced); conversion ~20 s; each round
# ~30 s. The machine is usually shared: keep --runs small.
set -euo pipefail

CHATLLM_COMMIT="4a4310e165cad9232a347dd299593b8ebaae1ac1"   # foldl/chatllm.cpp master, 2026-08-22 "support Instella-MoE"
CHATLLM_REPO_URL="https://github.com/foldl/chatllm.cpp.git"

# The whole script is one function, parsed before it runs: editing the file during a long run is safe.
main() {

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
driver="$here/compare_chatllm.py"
clip_driver="$here/compare_official.py"

chatllm_src="/tmp/chatllm/src"
build_dir=""
model_dir=""
jobs=2
checkpoint="$HOME/.cache/earshot/qwen3-asr-0.6b"
audio=""
threads=2
runs=3
warmup=1
max_tokens=32
earshot="$repo/.build/release/earshot"
earshot_model=""
convert_python="$HOME/.cache/earshot/official-venv/bin/python"
json_out=""
workdir=""
python="${PYTHON:-python3}"

die() { echo "compare-chatllm: $*" >&2; exit 1; }
say() { echo "compare-chatllm: $*" >&2; }
usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --chatllm-src) chatllm_src="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --model-dir) model_dir="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --checkpoint) checkpoint="$2"; shift 2 ;;
    --audio) audio="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --max-tokens) max_tokens="$2"; shift 2 ;;
    --earshot) earshot="$2"; shift 2 ;;
    --earshot-model) earshot_model="$2"; shift 2 ;;
    --convert-python) convert_python="$2"; shift 2 ;;
    --json) json_out="$2"; shift 2 ;;
    --workdir) workdir="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "compare-chatllm: unknown option $1" >&2; usage 2 ;;
  esac
done

for n in "$threads" "$runs" "$warmup" "$max_tokens" "$jobs"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "expected a number, got '$n'"
done
(( max_tokens >= 2 )) || die "--max-tokens must be >= 2 (decode speed needs two tokens)"
(( runs >= 1 )) || die "--runs must be >= 1"
(( threads >= 1 )) || die "--threads must be >= 1"
(( jobs >= 1 )) || die "--jobs must be >= 1"

chatllm_root="$(dirname "$chatllm_src")"
[[ -n "$build_dir" ]] || build_dir="$chatllm_root/build"
[[ -n "$model_dir" ]] || model_dir="$chatllm_root"
if [[ -z "$workdir" ]]; then workdir="$(mktemp -d "${TMPDIR:-/tmp}/earshot-compare-chatllm.XXXXXX")"; fi
mkdir -p "$workdir" "$model_dir"
workdir="$(cd "$workdir" && pwd)"
say "work directory $workdir"

command -v cmake > /dev/null || die "cmake not found (apt-get install cmake)"
command -v ffmpeg > /dev/null || die "ffmpeg not found: chatllm decodes audio files with it (apt-get install ffmpeg)"
[[ -x "$earshot" ]] || die "earshot binary not found at $earshot (build with 'swift build -c release' or pass --earshot PATH)"
# ArgumentParser prints the parent's help (exit 0) for an unknown subcommand: look for it in the list.
if ! "$earshot" bench --help 2>&1 | grep -qE '^[[:space:]]+speed([[:space:]]|$)'; then
  die "$earshot has no 'bench speed' subcommand"
fi
[[ -f "$checkpoint/config.json" ]] || die "no config.json in $checkpoint"
checkpoint="$(cd "$checkpoint" && pwd)"

# --- chatllm source at the pinned commit ----------------------------------------------------------
if [[ ! -e "$chatllm_src" ]]; then
  say "cloning $CHATLLM_REPO_URL into $chatllm_src"
  git clone --quiet "$CHATLLM_REPO_URL" "$chatllm_src" || die "git clone failed"
  git -C "$chatllm_src" checkout --quiet "$CHATLLM_COMMIT" || die "commit $CHATLLM_COMMIT not in the clone"
fi
head="$(git -C "$chatllm_src" rev-parse HEAD 2>/dev/null)" || die "$chatllm_src is not a git checkout"
[[ "$head" == "$CHATLLM_COMMIT" ]] \
  || die "$chatllm_src is at $head, not the pinned $CHATLLM_COMMIT (git -C $chatllm_src checkout $CHATLLM_COMMIT)"
if [[ -n "$(git -C "$chatllm_src" status --porcelain --untracked-files=no)" ]]; then
  die "$chatllm_src has local modifications; the comparison needs the pinned commit as published"
fi
[[ -f "$chatllm_src/ggml/CMakeLists.txt" ]] || die "$chatllm_src/ggml is missing (vendored at the pinned commit)"
chatllm_src="$(cd "$chatllm_src" && pwd)"

# --- build libchatllm ------------------------------------------------------------------------------
cmake_flags=(-DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON)
stamp_want="$CHATLLM_COMMIT ${cmake_flags[*]} $(uname -m)"
build_stamp="$build_dir/.earshot-compare-build"
find_lib() {
  local d
  for d in "$(dirname "$build_dir")/bindings" "$build_dir/bindings" "$build_dir" "$build_dir/lib"; do
    if [[ -f "$d/libchatllm.so" ]]; then echo "$d/libchatllm.so"; return 0; fi
  done
  return 1
}
lib=""
if [[ -f "$build_stamp" && "$(cat "$build_stamp")" == "$stamp_want" ]]; then lib="$(find_lib || true)"; fi
if [[ -z "$lib" ]]; then
  say "building chatllm.cpp $CHATLLM_COMMIT (libchatllm) in $build_dir with -j$jobs, nice 19"
  nice -n 19 cmake -S "$chatllm_src" -B "$build_dir" "${cmake_flags[@]}" > "$workdir/cmake-configure.log" 2>&1 \
    || { tail -20 "$workdir/cmake-configure.log" >&2; die "cmake configure failed (log: $workdir/cmake-configure.log)"; }
  grep -E 'CPU backend variant|-march' "$workdir/cmake-configure.log" | sed 's/^/compare-chatllm: cmake: /' >&2 || true
  nice -n 19 cmake --build "$build_dir" -j "$jobs" --target libchatllm > "$workdir/cmake-build.log" 2>&1 \
    || { tail -30 "$workdir/cmake-build.log" >&2; die "build failed (log: $workdir/cmake-build.log)"; }
  lib="$(find_lib)" || die "libchatllm.so not found after the build"
  echo "$stamp_want" > "$build_stamp"
fi
say "library $lib"

# --- convert the checkpoint to q8_0 ---------------------------------------------------------------
model_bin="$model_dir/qwen3-asr-0.6b-q8.bin"
st_sig="$(stat -L -c '%n %s %Y' "$checkpoint"/*.safetensors 2>/dev/null | sed "s|$checkpoint/||" | tr '\n' ' ')"
cfg_sig="$(sha256sum "$checkpoint/config.json" | cut -d' ' -f1)"
model_stamp_want="$CHATLLM_COMMIT q8_0 $checkpoint $cfg_sig $st_sig"
model_stamp="$model_bin.stamp"
if [[ -s "$model_bin" && -f "$model_stamp" && "$(cat "$model_stamp")" == "$model_stamp_want" ]]; then
  say "converted model (cached) $model_bin"
else
  [[ -x "$convert_python" ]] || die "--convert-python $convert_python not found (a Python with torch)"
  "$convert_python" -c 'import torch, numpy, safetensors' 2>/dev/null \
    || die "$convert_python lacks torch/numpy/safetensors (pip install -r $chatllm_src/requirements.txt)"
  if ! "$convert_python" -c 'import sentencepiece' 2>/dev/null; then
    say "installing sentencepiece (imported by convert.py) into $convert_python's environment"
    "$convert_python" -m pip install --quiet sentencepiece >&2 || die "pip install sentencepiece failed"
  fi
  view="$workdir/checkpoint-view"
  "$python" "$driver" checkpoint-view "$checkpoint" "$view"
  say "converting $checkpoint -> $model_bin (q8_0)"
  rm -f "$model_stamp"
  ( cd "$chatllm_src" && nice -n 19 "$convert_python" convert.py -i "$view" -t q8_0 -o "$model_bin" \
      --name Qwen3-ASR-0.6B ) > "$workdir/convert.log" 2>&1 \
    || { tail -20 "$workdir/convert.log" >&2; die "convert.py failed (log: $workdir/convert.log)"; }
  echo "$model_stamp_want" > "$model_stamp"
fi

# --- clip -----------------------------------------------------------------------------------------
if [[ -z "$audio" ]]; then
  audio="$workdir/clip-8s-16k.wav"
  [[ -f "$audio" ]] || "$python" "$clip_driver" make-clip "$audio" --seconds 8
fi
[[ -f "$audio" ]] || die "audio clip $audio not found"
audio="$(cd "$(dirname "$audio")" && pwd)/$(basename "$audio")"

# --- runs -----------------------------------------------------------------------------------------
chat_jsons=(); earshot_jsons=()
run_chatllm() {
  local out="$workdir/chatllm-run$1.json"
  say "round $1/$runs: chatllm.cpp"
  "$python" "$driver" chatllm --lib "$lib" --model "$model_bin" --audio "$audio" --threads "$threads" \
    --max-tokens "$max_tokens" --warmup "$warmup" --out "$out" \
    || die "chatllm run $1 failed"
  [[ -s "$out" ]] || die "chatllm run $1 wrote no JSON"
  chat_jsons+=("$out")
}
run_earshot() {
  local out="$workdir/earshot-run$1.json"
  say "round $1/$runs: Earshot"
  local model_args=(--model "$checkpoint" --precision q8)
  [[ -n "$earshot_model" ]] && model_args=(--model "$earshot_model")
  "$earshot" bench speed "${model_args[@]}" --audio "$audio" --threads "$threads" \
    --runs 1 --max-tokens "$max_tokens" --json "$out" > "$workdir/earshot-run$1.txt" 2>&1 \
    || { tail -20 "$workdir/earshot-run$1.txt" >&2; die "earshot bench speed failed (round $1)"; }
  [[ -s "$out" ]] || die "earshot bench speed wrote no JSON to $out"
  earshot_jsons+=("$out")
}
for (( r = 1; r <= runs; r++ )); do
  if (( r % 2 == 1 )); then run_chatllm "$r"; run_earshot "$r"; else run_earshot "$r"; run_chatllm "$r"; fi
done

# --- report ---------------------------------------------------------------------------------------
report_args=(--chatllm-commit "$CHATLLM_COMMIT" --checkpoint "$checkpoint" --audio "$audio"
             --threads "$threads" --max-tokens "$max_tokens")
for f in "${chat_jsons[@]}"; do report_args+=(--chatllm "$f"); done
for f in "${earshot_jsons[@]}"; do report_args+=(--earshot "$f"); done
[[ -n "$json_out" ]] && report_args+=(--json "$json_out")
"$python" "$driver" report "${report_args[@]}"
}

main "$@"
