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
