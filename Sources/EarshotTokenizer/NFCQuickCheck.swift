import Foundation

/// Decides cheaply whether text is certainly unchanged by NFC, so that Foundation's
/// normaliser (which converts through UTF-16 and costs more than the whole BPE pass on
/// non-ASCII text) only runs when it can matter.
///
/// A scalar is "stable" when it is below U+0300 (Latin-1 and Latin Extended: all precomposed,
/// none combine with what precedes them), or when its canonical combining class is 0 and it
/// lies in a block whose ccc-0 characters all have NFC_Quick_Check = Yes (no singleton or
/// excluded decompositions, and none that compose with a preceding character). Combining
/// marks (ccc != 0) are never stable. Text made only of stable scalars is already NFC.
/// Anything unlisted (Greek, Hangul jamo, letterlike symbols, CJK compatibility ideographs...)
/// simply takes the slow, exact path.
enum NFCQuickCheck {
    /// Blocks whose ccc-0 characters are all NFC_QC=Yes. Sorted, non-overlapping.
    static let stableRanges: [ClosedRange<UInt32>] = [
        0x0400...0x04FF,  // Cyrillic
        0x0590...0x05FF,  // Hebrew (presentation forms at U+FB1D... are not included)
        0x0600...0x06FF,  // Arabic
        0x0900...0x0957,  // Devanagari, before the excluded nukta letters U+0958...U+095F
        0x0960...0x097F,
        0x0E00...0x0E7F,  // Thai
        0x2002...0x206F,  // general punctuation, without the singletons U+2000, U+2001
        0x20A0...0x20CF,  // currency symbols
        0x2190...0x22FF,  // arrows, mathematical operators
        0x2500...0x27BF,  // box drawing, shapes, dingbats
        0x3000...0x30FF,  // CJK punctuation, hiragana, katakana
        0x3400...0x4DBF,  // CJK extension A
        0x4E00...0x9FFF,  // CJK unified ideographs
        0xAC00...0xD7A3,  // Hangul syllables
        0xFE00...0xFE0F,  // variation selectors
        0xFF00...0xFFEF,  // half-width and full-width forms
        0x1F000...0x1FAFF,  // emoji and pictographs
    ]

    /// True when `scalar` alone, and after any stable scalar, is left unchanged by NFC.
    @inline(__always)
    static func isStable(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x300 { return true }
        guard isInStableRange(value) else { return false }
        return scalar.properties.canonicalCombiningClass == .notReordered
    }

    private static func isInStableRange(_ value: UInt32) -> Bool {
        var low = 0
        var high = stableRanges.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let range = stableRanges[middle]
            if value < range.lowerBound {
                high = middle - 1
            } else if value > range.upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }

    /// The NFC scalars of `text`, calling Foundation only when the quick check fails.
    static func nfcScalars(_ text: String) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            guard isStable(scalar) else {
                return Array(text.precomposedStringWithCanonicalMapping.unicodeScalars)
            }
            scalars.append(scalar)
        }
        return scalars
    }
}
