import Foundation

/// One value of a small JSON config, read with `JSONDecoder` rather than `JSONSerialization`.
///
/// Configs come from outside, and `JSONSerialization` builds a Foundation object of up to a few
/// kilobytes per JSON value (a 60 MB safetensors header of tiny entries peaked at 4 GB), whereas
/// `JSONDecoder` scans into a compact map and builds only what is asked for. Values Earshot does
/// not read stay `.other`, so an object's unrelated keys cost nothing.
enum JSONField: Decodable, Equatable {
    case null
    case int(Int)
    case ints([Int])
    /// A list of integer lists (Whisper's `alignment_heads`: [[layer, head], ...]).
    case intLists([[Int]])
    case string(String)
    case other

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let list = try? c.decode([Int].self) {
            self = .ints(list)
        } else if let lists = try? c.decode([[Int]].self) {
            self = .intLists(lists)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else {
            self = .other
        }
    }

    /// The top-level object of `data`, nil when it is not a JSON object (or not JSON).
    static func object(_ data: Data) -> [String: JSONField]? {
        try? JSONDecoder().decode([String: JSONField].self, from: data)
    }
}
