#!/usr/bin/env python3
"""Writes the committed seed corpora, fuzz/corpus/<target>/: small valid (and a few nearly valid)
files of each format, built here byte by byte, plus small fixture files copied from Tests/Fixtures.
Run from anywhere: python3 fuzz/make-seeds.py (it rewrites the directories it owns)."""
import json, os, shutil, struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
FIX = os.path.join(ROOT, "Tests", "Fixtures", "qwen3-asr-tiny")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def copy(target, name, src):
    with open(src, "rb") as f:
        put(target, name, f.read())


# --- WAV / RF64 -------------------------------------------------------------------------------
def chunk(tag, body):
    return tag + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def fmt(code, channels, rate, bits):
    align = channels * bits // 8
    return struct.pack("<HHIIHH", code, channels, rate, rate * align, align, bits)


def wav(fmt_body, data, extra=b"", rf64=False):
    chunks = chunk(b"fmt ", fmt_body) + extra + chunk(b"data", data)
    if rf64:
        ds64 = chunk(b"ds64", struct.pack("<QQQI", 4 + len(chunks) + 36, len(data), 0, 0))
        return b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + ds64 + chunks
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


ramp16 = b"".join(struct.pack("<h", (i * 997) % 65536 - 32768) for i in range(200))
guid_pcm = struct.pack("<H", 1) + bytes([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71])
guid_float = struct.pack("<H", 3) + guid_pcm[2:]
put("wav", "mono-int16-16k.wav", wav(fmt(1, 1, 16000, 16), ramp16))
put("wav", "stereo-uint8-8k.wav", wav(fmt(1, 2, 8000, 8), bytes(range(0, 256, 2)) * 2))
put("wav", "mono-int24-44k.wav", wav(fmt(1, 1, 44100, 24), bytes((i * 37) % 256 for i in range(300))))
put("wav", "stereo-int32-48k.wav", wav(fmt(1, 2, 48000, 32), bytes((i * 53) % 256 for i in range(320))))
put("wav", "mono-float32-22k.wav", wav(fmt(3, 1, 22050, 32), b"".join(struct.pack("<f", (i % 40 - 20) / 10) for i in range(100))))
put("wav", "mono-float64-8k.wav", wav(fmt(3, 1, 8000, 64), b"".join(struct.pack("<d", (i % 10) / 20) for i in range(60))))
ext = fmt(0xFFFE, 2, 32000, 16) + struct.pack("<HHI", 22, 16, 3) + guid_pcm
put("wav", "extensible-pcm16.wav", wav(ext, ramp16))
extf = fmt(0xFFFE, 1, 16000, 32) + struct.pack("<HHI", 22, 32, 4) + guid_float
put("wav", "extensible-float32.wav", wav(extf, b"".join(struct.pack("<f", i / 100) for i in range(50))))
put("wav", "rf64-int16.wav", wav(fmt(1, 1, 16000, 16), ramp16, rf64=True))
put("wav", "list-odd-chunk.wav", wav(fmt(1, 1, 11025, 16), ramp16, extra=chunk(b"LIST", b"INFOabc")))
unbounded = bytearray(wav(fmt(1, 1, 16000, 16), ramp16))
unbounded[40:44] = struct.pack("<I", 0xFFFFFFFF)  # data size "unknown" (streamed WAV)
put("wav", "data-size-ffffffff.wav", bytes(unbounded))
copy("wav", "short.wav", os.path.join(FIX, "audio", "short.wav"))
shutil.copytree(os.path.join(CORPUS, "wav"), os.path.join(CORPUS, "wav-resample"), dirs_exist_ok=True)


# --- safetensors -------------------------------------------------------------------------------
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


put("safetensors", "f32-matrix.safetensors", safetensors([("w", "F32", [2, 3], struct.pack("<6f", *range(6)))]))
put("safetensors", "dtypes-metadata.safetensors", safetensors([
    ("a.bf16", "BF16", [4], b"\x80\x3f" * 4), ("b.f16", "F16", [2, 1], b"\x00\x3c" * 2),
    ("c.i64", "I64", [1], struct.pack("<q", -5)), ("d.i32", "I32", [2], struct.pack("<2i", 1, 2)),
    ("e.u8", "U8", [3], b"\x01\x02\x03"), ("f.empty", "F32", [0, 4], b"")], metadata={"format": "pt"}))
put("safetensors", "scalar.safetensors", safetensors([("s", "F32", [], struct.pack("<f", 1.0))]))
put("safetensors", "header-only.safetensors", safetensors([]))

# --- safetensors index (shards a: x, b: y, c: x again, written by the entry) --------------------
put("safetensors-index", "two-shards.json", json.dumps({"metadata": {"total_size": 8}, "weight_map": {"x": "a.safetensors", "y": "b.safetensors"}}))
put("safetensors-index", "one-shard.json", json.dumps({"weight_map": {"y": "b.safetensors"}}))
put("safetensors-index", "duplicate.json", json.dumps({"weight_map": {"x": "a.safetensors", "z": "c.safetensors"}}))
put("safetensors-index", "missing.json", json.dumps({"weight_map": {"q": "a.safetensors"}}))


# --- GGUF --------------------------------------------------------------------------------------
def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(kvs, tensors, alignment=32):
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, typ, payload in kvs:
        out += gstr(key) + struct.pack("<I", typ) + payload
    data, infos = b"", b""
    for name, ggml, dims, payload in tensors:
        data += b"\0" * (-len(data) % alignment)
        infos += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", ggml, len(data))
        data += payload
    out += infos
    out += b"\0" * (-len(out) % alignment)
    return out + data


kvs = [("general.architecture", 8, gstr("qwen3_asr")), ("general.alignment", 4, struct.pack("<I", 32)),
       ("earshot.file.config.json", 8, gstr('{"model_type": "qwen3_asr"}')),
       ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + gstr("a") + gstr("b") + gstr("ab")),
       ("scale", 6, struct.pack("<f", 0.5)), ("flag", 7, b"\x01"), ("big", 10, struct.pack("<Q", 1 << 40))]
q8 = struct.pack("<e", 0.5) + bytes(range(32))
put("gguf", "tensors-and-metadata.gguf", gguf(kvs, [("a", 0, [4], struct.pack("<4f", 1, 2, 3, 4)),
                                                    ("b", 1, [2, 2], b"\x00\x3c" * 4), ("c", 8, [32], q8)]))
put("gguf", "metadata-only.gguf", gguf(kvs[:3], []))
put("gguf", "nested-array.gguf", gguf([("n", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 4, 2) + struct.pack("<2I", 7, 8))], []))


# --- CTranslate2 model.bin -----------------------------------------------------------------------
def cstr(s):
    b = s.encode() + b"\0"
    return struct.pack("<H", len(b)) + b


def ct2(version, variables, aliases=()):
    out = struct.pack("<I", version)
    if version >= 2:
        out += cstr("WhisperSpec") + struct.pack("<I", 3)
    out += struct.pack("<I", len(variables))
    for name, dtype, size, shape, payload in variables:
        out += cstr(name) + struct.pack("<B", len(shape)) + b"".join(struct.pack("<I", d) for d in shape)
        if version >= 4:
            out += struct.pack("<BI", dtype, len(payload))
        else:
            out += struct.pack("<BI", size, len(payload) // size)
        out += payload
    if version >= 3:
        out += struct.pack("<I", len(aliases)) + b"".join(cstr(a) + cstr(t) for a, t in aliases)
    return out


variables = [("encoder/num_heads", 3, 4, [], struct.pack("<i", 6)),
             ("encoder/conv1/weight", 4, 2, [2, 3], b"\x00\x3c" * 6),
             ("decoder/embeddings/weight", 0, 4, [3, 2], struct.pack("<6f", *range(6))),
             ("decoder/scale", 1, 1, [2], b"\x01\xff")]
put("ctranslate2", "v6-aliases.bin", ct2(6, variables, [("decoder/projection/weight", "decoder/embeddings/weight")]))
put("ctranslate2", "v2-itemsize.bin", ct2(2, [v for v in variables if v[1] != 4]))
put("ctranslate2", "v1-empty.bin", ct2(1, []))


# --- ONNX (protobuf ModelProto) ---------------------------------------------------------------
def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb(number, value):
    """One field: an int is a varint, bytes/str a length-delimited run."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def onnx_tensor(name, dims, dtype, payload):
    return b"".join(pb(1, d) for d in dims) + pb(2, dtype) + pb(8, name) + pb(9, payload)


def onnx_node(op, inputs, outputs, attrs=b""):
    return b"".join(pb(1, i) for i in inputs) + b"".join(pb(2, o) for o in outputs) + pb(4, op) + attrs


def onnx_value(name, dims):
    shape = b"".join(pb(1, pb(1, d)) for d in dims)
    return pb(1, name) + pb(2, pb(1, pb(1, 1) + pb(2, shape)))


conv_attr = pb(5, pb(1, "strides") + pb(8, varint(1)) + pb(20, 7))   # ints [1], packed; type INTS
graph = (pb(1, onnx_node("Conv", ["x", "w"], ["y"], conv_attr)) + pb(2, "g")
         + pb(5, onnx_tensor("w", [2, 1, 3], 1, struct.pack("<6f", *range(6))))
         + pb(5, onnx_tensor("pads", [4], 7, struct.pack("<4q", 0, 128, 0, 128)))
         + pb(11, onnx_value("x", [1, 1, 8])) + pb(12, onnx_value("y", [1, 2, 6])))
model = pb(1, 8) + pb(8, pb(2, 18)) + pb(2, "earshot-seeds") + pb(7, graph)
put("onnx", "conv.onnx", model)
put("onnx", "truncated.onnx", model[: len(model) // 2])
put("onnx", "external.onnx", pb(1, 8) + pb(7, pb(5, onnx_tensor("w", [2], 1, b"") + pb(14, 1))))

# --- model configs -------------------------------------------------------------------------------
copy("qwen3-config", "qwen3-asr-tiny-config.json", os.path.join(FIX, "model", "config.json"))
with open(os.path.join(FIX, "model", "config.json")) as f:
    cfg = json.load(f)
cfg["thinker_config"]["text_config"]["num_hidden_layers"] = 28
put("qwen3-config", "qwen3-asr-edited-config.json", json.dumps(cfg, separators=(",", ":")))
whisper_hf = {"model_type": "whisper", "num_mel_bins": 80, "d_model": 384, "encoder_layers": 4, "decoder_layers": 4,
              "encoder_attention_heads": 6, "decoder_attention_heads": 6, "encoder_ffn_dim": 1536, "decoder_ffn_dim": 1536,
              "vocab_size": 51865, "max_source_positions": 1500, "max_target_positions": 448,
              "suppress_ids": [1, 2, 7, 8, 50359], "suppress_ids_begin": [220, 50257]}
put("whisper-config", "whisper-tiny-hf-config.json", json.dumps(whisper_hf, indent=1))
put("whisper-config", "ct2-config.json", json.dumps({"alignment_heads": [[2, 2], [3, 0]], "lang_ids": [50259, 50260],
                                                      "suppress_ids": [1, 2, 7], "suppress_ids_begin": [220, 50257]}))
copy("preprocessor-config", "qwen3-asr-preprocessor_config.json", os.path.join(FIX, "model", "preprocessor_config.json"))
put("preprocessor-config", "whisper-preprocessor_config.json", json.dumps({"feature_size": 80, "sampling_rate": 16000,
                                                                            "hop_length": 160, "n_fft": 400, "chunk_length": 30}))

# --- Whisper vocabularies ------------------------------------------------------------------------
specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|de|>", "<|translate|>", "<|transcribe|>",
            "<|nospeech|>", "<|notimestamps|>"]
words = ["!", "\"", "a", "b", "Ġthe", "Ġhello", "Ċ", "Ã©", ""]
put("whisper-vocabulary", "vocabulary.json", json.dumps(words + specials))
put("whisper-vocabulary", "vocabulary.txt", "\n".join(words + specials) + "\n")
put("whisper-vocabulary", "tokenizer.json", json.dumps({"model": {"type": "BPE", "vocab": {w: i for i, w in enumerate(words[:-1])}},
                                                        "added_tokens": [{"id": 10 + i, "content": s} for i, s in enumerate(specials)]}))


# --- Qwen2 tokenizer files (the same small tokenizer as SmallTokenizerFiles in the entries) -----------
def bytes_to_unicode():
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


rules = [("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"),
         ("Ġwor", "l"), ("Ġworl", "d"), ("Ġ", "t"), ("Ġt", "he"), ("Ġ", "2"), ("0", "2")]
tokens = [bytes_to_unicode()[b] for b in range(256)]
for l, r in rules:
    if l + r not in tokens:
        tokens.append(l + r)
vocab = {t: i for i, t in enumerate(tokens)}
merges = "#version: 0.2\n" + "".join(f"{l} {r}\n" for l, r in rules)
config = {"add_prefix_space": False, "added_tokens_decoder": {
    "300": {"content": "<|endoftext|>", "special": True}, "301": {"content": "<|im_start|>", "special": True},
    "302": {"content": "<|im_end|>", "special": False}}, "eos_token": "<|im_end|>"}
put("tokenizer-vocab", "vocab.json", json.dumps(vocab, ensure_ascii=False))
put("tokenizer-vocab", "vocab-escaped.json", json.dumps(vocab, ensure_ascii=True, indent=1))
put("tokenizer-merges", "merges.txt", merges)
put("tokenizer-merges", "merges-crlf.txt", merges.replace("\n", "\r\n"))
put("tokenizer-config", "tokenizer_config.json", json.dumps(config, indent=2))
with open(os.path.join(FIX, "model", "tokenizer_config.json"), "rb") as f:
    put("tokenizer-config", "qwen3-asr-tokenizer_config.json", f.read())  # ids beyond the small vocabulary: rejected
added = [{"id": 300 + i, "content": c, "special": True} for i, c in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])]
put("tokenizer-json", "tokenizer.json", json.dumps({"version": "1.0", "added_tokens": added,
                                                     "model": {"type": "BPE", "vocab": vocab, "merges": [f"{l} {r}" for l, r in rules]}},
                                                    ensure_ascii=False))
put("tokenizer-json", "tokenizer-pair-merges.json", json.dumps({"added_tokens": added,
                                                                 "model": {"vocab": vocab, "merges": [[l, r] for l, r in rules]}}))


# --- multipart ------------------------------------------------------------------------------------
def form(boundary, parts, eol="\r\n", preamble="", epilogue=""):
    out = preamble
    for headers, body in parts:
        out += f"--{boundary}{eol}" + "".join(h + eol for h in headers) + eol + body + eol
    return out + f"--{boundary}--{eol}{epilogue}"


b = "----earshot7MA4YWxk"
openai = [(['Content-Disposition: form-data; name="file"; filename="a.wav"', "Content-Type: audio/wav"], "RIFF....WAVEfmt "),
          (['Content-Disposition: form-data; name="model"'], "whisper-1"),
          (['Content-Disposition: form-data; name="language"'], "en"),
          (['Content-Disposition: form-data; name="response_format"'], "verbose_json"),
          (['Content-Disposition: form-data; name="timestamp_granularities[]"'], "word"),
          (['Content-Disposition: form-data; name="timestamp_granularities[]"'], "segment")]
put("multipart", "openai-form.txt", f"multipart/form-data; boundary={b}\r\n" + form(b, openai))
put("multipart", "lf-preamble.txt", 'multipart/form-data; boundary="quoted b"\n'
    + form("quoted b", openai[:2], eol="\n", preamble="ignored preamble\n", epilogue="trailing epilogue"))
put("multipart", "filename-star.txt", "Multipart/Form-Data; charset=utf-8; boundary=xyz\r\n"
    + form("xyz", [(["content-disposition: form-data; name=\"file\"; filename=\"a%22.wav\"; filename*=UTF-8''%C3%A9t%C3%A9.wav"], "--xyzNOT"),
                   (['Content-Disposition: form-data; name="prompt"', "X-Other: 1"], "")]))

# --- C ABI options ----------------------------------------------------------------------------------
put("c-options", "transcription.json", '{"language": "English", "context": "names: Ada", "max_tokens": 200, '
    '"loop_guard_repeats": 4, "timestamps": true}')
put("c-options", "precision.json", '{"precision": "q8"}')
put("c-options", "empty-object.json", "{}")
put("c-options", "nulls.json", '{"language": null, "max_tokens": null, "precision": null}')
print("seeds written under", CORPUS)
