#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The message of the last failed call, per thread (`earshot_last_error`).
///
/// Kept in a pthread key whose destructor frees it, so a thread that exits leaves nothing behind.
/// The C string is replaced (and the old one freed) only by the next failure on the same thread,
/// which is what the header promises about its lifetime.
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    static func set(_ message: String) {
        let old = pthread_getspecific(key)
        pthread_setspecific(key, strdup(message))
        free(old)
    }

    static var pointer: UnsafePointer<CChar> {
        guard let p = pthread_getspecific(key) else { return StaticCString.empty }
        return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
    }
}

/// C strings in static storage (never freed).
enum StaticCString {
    static var empty: UnsafePointer<CChar> { pointer("") }
    static var version: UnsafePointer<CChar> { pointer("0.8.0") }

    private static func pointer(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
