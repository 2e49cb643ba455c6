import ArgumentParser
import EarshotRuntime

/// Checks a flag's value against its bound in `OptionBounds` (the same bounds the server's
/// configuration and the C ABI use): out of range is a usage error naming the flag and the range,
/// before anything is loaded or any thread started.
func checkOption<V: Comparable & Sendable>(_ value: V?, _ bound: OptionBound<V>, _ flag: String) throws {
    guard let value else { return }
    do { try bound.check(value, option: flag) } catch { throw ValidationError(error.description) }
}
