import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotTensor

@Suite(.serialized) struct PageBufferTests {
    @Test func anonymousBufferIsZeroedAlignedAndCounted() throws {
        let before = MemoryCounters.anonymousBytes
        do {
            let b = try PageBuffer(byteCount: 100_000, owner: .scratch)
            #expect(Int(bitPattern: b.raw) % PageBuffer.pageSize == 0)
            #expect(b.mappedBytes % PageBuffer.pageSize == 0 && b.mappedBytes >= 100_000)
            #expect(b.bytes().allSatisfy { $0 == 0 })
            #expect(MemoryCounters.anonymousBytes == before + b.mappedBytes)
            b.floats()[b.floatCount - 1] = 3
            #expect(b.floats()[b.floatCount - 1] == 3)
        }
        // deinit unmapped it
        #expect(MemoryCounters.anonymousBytes == before)
    }

    /// Growing keeps the contents, zeroes the tail, moves the accounting, closes the old buffer, and
    /// (Linux, mremap) never holds the contents twice: the resident peak during the grow stays near
    /// the contents, where copying 64 MB into a new mapping would add 64 MB.
    @Test func growingMovesPagesWithoutCopying() throws {
        let before = MemoryCounters.bytes(owner: .audio)
        let size = 64 << 20
        let small = try PageBuffer(byteCount: size, owner: .audio)
        let words = small.raw.assumingMemoryBound(to: UInt32.self)
        for i in 0..<(size / 4) { words[i] = UInt32(truncatingIfNeeded: i &* 2_654_435_761) }
        #if os(Linux)
        let resetPeak = Self.resetPeakRSS()
        let rssBefore = Self.statusKB("VmRSS")
        #endif
        let big = try small.grown(to: 2 * size)
        #if os(Linux)
        #expect(resetPeak, "cannot reset the peak RSS through /proc/self/clear_refs")
        // Under a sanitizer its shadow memory is part of what RSS would measure.
        if resetPeak, !Sanitizer.isActive, let rssBefore, let peak = Self.statusKB("VmHWM") {
            #expect(peak - rssBefore < 16 << 10, "peak rose \(peak - rssBefore) KB while growing 64 MB")
        }
        #endif
        #expect(!small.isOpen && big.isOpen && big.byteCount == 2 * size)
        let moved = big.raw.assumingMemoryBound(to: UInt32.self)
        #expect((0..<(size / 4)).allSatisfy { moved[$0] == UInt32(truncatingIfNeeded: $0 &* 2_654_435_761) })
        #expect((size / 4..<(size / 2)).allSatisfy { moved[$0] == 0 })
        #expect(MemoryCounters.bytes(owner: .audio) == before + big.mappedBytes)
        big.close()
        small.close()   // already closed: a no-op, and the moved mapping is not unmapped twice
        #expect(MemoryCounters.bytes(owner: .audio) == before)
    }

    #if os(Linux)
    /// Resets VmHWM to the current RSS (Linux 4.0+). Not through FileManager: it writes atomically
    /// (a temporary file and a rename), which /proc refuses.
    static func resetPeakRSS() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    /// A `kB` line of /proc/self/status.
    static func statusKB(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }
    #endif

    @Test func closeIsIdempotentAndDeterministic() throws {
        let before = MemoryCounters.anonymousBytes
        let b = try PageBuffer(byteCount: 1 << 20, owner: .kvCache)
        #expect(MemoryCounters.bytes(owner: .kvCache) >= 1 << 20)
        b.close()
        b.close()
        #expect(!b.isOpen)
        #expect(MemoryCounters.anonymousBytes == before)
    }

    @Test func fileMappingHoldsNoDescriptor() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pb-\(UUID()).bin").path
        try Data((0..<5000).map { UInt8($0 & 0xFF) }).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fdsBefore = openDescriptorCount()
        let fileBefore = MemoryCounters.fileBytes
        let b = try PageBuffer(mappingFile: path)
        #expect(openDescriptorCount() == fdsBefore)
        #expect(b.byteCount == 5000)
        #expect(b.raw.load(fromByteOffset: 4999, as: UInt8.self) == UInt8(4999 & 0xFF))
        #expect(MemoryCounters.fileBytes == fileBefore + b.mappedBytes)
        b.close()
        #expect(MemoryCounters.fileBytes == fileBefore)
    }

    @Test func missingFileIsATypedError() {
        #expect(throws: TensorError.fileNotFound(path: "/nonexistent/x.safetensors")) {
            _ = try PageBuffer(mappingFile: "/nonexistent/x.safetensors")
        }
    }

    @Test func manyMapsAndUnmapsLeaveNothingBehind() throws {
        let anon = MemoryCounters.anonymousBytes
        let live = MemoryCounters.liveBuffers
        for i in 0..<500 {
            let b = try PageBuffer(byteCount: 4096 * (1 + i % 7), owner: .scratch)
            b.floats()[0] = Float(i)
        }
        #expect(MemoryCounters.anonymousBytes == anon)
        #expect(MemoryCounters.liveBuffers == live)
    }
}

func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}
