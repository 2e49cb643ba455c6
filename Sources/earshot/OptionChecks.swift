import ArgumentParser
import EarshotRuntime

/// Checks a flag's value against its bound in `OptionBounds` (the same bounds the server's
/// configuration and the C ABI use): out of range is a usage error naming the flag and the range,
/// before anything is loaded or any thread started.
func checkOption(_ value: Int?, _ bound: OptionBound, _ flag: String) throws {
    guard let value else { return }
    do { try bound.check(value, option: flag) } catch { throw ValidationError(error.description) }
}

func checkOption(_ value: Double?, _ bound: RealOptionBound, _ flag: String) throws {
    guard let value else { return }
    do { try bound.check(value, option: flag) } catch { throw ValidationError(error.description) }
}
