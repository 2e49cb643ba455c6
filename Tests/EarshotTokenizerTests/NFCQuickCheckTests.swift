import Foundation
import Testing
@testable import EarshotTokenizer

/// The quick check may only skip Foundation's NFC when NFC would change nothing.
struct NFCQuickCheckTests {
    @Test func everyStableScalarIsUnchangedByNFCInContext() {
        var checked = 0
        for range in NFCQuickCheck.stableRanges {
            for value in range {
                guard let scalar = Unicode.Scalar(value), NFCQuickCheck.isStable(scalar) else { continue }
                // Alone, after a Latin letter and after a Hangul syllable (which composes with
                // following jamo): NFC must leave all three unchanged.
                for text in [String(scalar), "a" + String(scalar), "가" + String(scalar)] {
                    if text.precomposedStringWithCanonicalMapping.unicodeScalars.elementsEqual(text.unicodeScalars) {
                        continue
                    }
                    Issue.record("U+\(String(value, radix: 16, uppercase: true)) changes under NFC")
                }
                checked += 1
            }
        }
        #expect(checked > 40_000)
    }

    @Test func unstableTextIsNormalised() {
        #expect(NFCQuickCheck.nfcScalars("e\u{301}") == ["\u{E9}"])
        #expect(NFCQuickCheck.nfcScalars("\u{212B}") == ["\u{C5}"])  // Angstrom sign, a singleton
        #expect(NFCQuickCheck.nfcScalars("\u{1100}\u{1161}") == ["\u{AC00}"])  // Hangul jamo
        #expect(NFCQuickCheck.nfcScalars("か\u{3099}") == ["が"])
        #expect(!NFCQuickCheck.isStable("\u{301}"))
        #expect(NFCQuickCheck.isStable("漢"))
    }
}
