import Foundation

extension Fixtures {
    /// A scratch copy of the tiny Qwen3-ASR model in a new temporary folder, for tests that replace
    /// or edit its files: the large files (weights, vocabulary, merges) are symbolic links to the
    /// fixture, the small ones (configs) copies a test may rewrite. The caller removes the folder.
    public static func scratchCopyOfQwenTinyModel(prefix: String = "qwen") throws -> URL {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID())")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in try fm.contentsOfDirectory(atPath: qwenTinyModel.path) {
            let src = qwenTinyModel.appendingPathComponent(f), dst = dir.appendingPathComponent(f)
            if ["model.safetensors", "vocab.json", "merges.txt"].contains(f) {
                try fm.createSymbolicLink(at: dst, withDestinationURL: src)
            } else {
                try fm.copyItem(at: src, to: dst)
            }
        }
        return dir
    }
}
