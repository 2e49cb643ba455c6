/// The model-file parsers over bytes already in memory, for the fuzz targets (`fuzz/`) and the
/// regression corpus the tests replay (`EarshotFuzzEntries`). They run the very `parse` functions
/// of `init(path:)`; only the file mapping is skipped. That also lets the address sanitizer see a
/// read one byte past the end, which a file mapping (padded to whole pages) would hide.
///
/// `@_spi(Fuzzing)`: not part of the library's API; only a client that writes
/// `@_spi(Fuzzing) import EarshotTensor` sees it.
@_spi(Fuzzing) public enum TensorFileParsing {
    /// A `.safetensors` image: the number of tensors its header lists.
    public static func safetensors(_ bytes: UnsafeRawBufferPointer, path: String) throws(TensorError) -> Int {
        try withBase(bytes) { b throws(TensorError) in try SafeTensorsFile.parse(b, path: path).0.count }
    }

    /// A GGUF image: the number of tensors it holds.
    public static func gguf(_ bytes: UnsafeRawBufferPointer, path: String) throws(GGUFError) -> Int {
        try withBase(bytes) { b throws(GGUFError) in try GGUFFile.parse(b, path: path).tensors.count }
    }

    /// A CTranslate2 `model.bin` image: the number of variables it holds.
    public static func ctranslate2(_ bytes: UnsafeRawBufferPointer, path: String) throws(CTranslate2Error) -> Int {
        try withBase(bytes) { b throws(CTranslate2Error) in try CTranslate2File.parse(b, path: path).variables.count }
    }

    /// An ONNX model image: the number of nodes in its graph.
    public static func onnx(_ bytes: UnsafeRawBufferPointer, path: String) throws(ONNXError) -> Int {
        try withBase(bytes) { b throws(ONNXError) in try ONNXFile.parse(b, path: path).nodes.count }
    }

    /// The parsers read through a non-nil base address (a mapping always has one); an empty buffer
    /// may have none, so it is replaced by an empty view of a real one.
    private static func withBase<R, E: Error>(_ bytes: UnsafeRawBufferPointer,
                                              _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if bytes.baseAddress != nil { return try body(bytes) }
        let result: Result<R, E> = [UInt8](repeating: 0, count: 1).withUnsafeBytes { one in
            do throws(E) { return .success(try body(UnsafeRawBufferPointer(rebasing: one[0..<0]))) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
