import Synchronization

/// The open connections, per client address and in total, shared by every event loop. A
/// connection is admitted or refused when it opens and released when it closes; the lock is held
/// for a dictionary update only.
final class ConnectionRegistry: Sendable {
    enum Refusal: String, Sendable {
        /// The server holds `maxConnections` already.
        case total
        /// This client address holds `maxConnectionsPerIP` already.
        case perIP = "per_ip"
    }

    private struct State {
        var total = 0
        var byAddress: [String: Int] = [:]
        var refused: [Refusal: Int] = [:]
    }

    let maxTotal: Int
    let maxPerAddress: Int
    private let state = Mutex(State())

    init(maxTotal: Int, maxPerAddress: Int) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
    }

    /// Counts a new connection from `address`, or says why it must be refused (then nothing is
    /// counted but the refusal, and `release` must not be called).
    func admit(_ address: String) -> Refusal? {
        state.withLock { s in
            let refusal: Refusal? = s.total >= maxTotal ? .total
                : s.byAddress[address, default: 0] >= maxPerAddress ? .perIP : nil
            if let refusal {
                s.refused[refusal, default: 0] += 1
                return refusal
            }
            s.total += 1
            s.byAddress[address, default: 0] += 1
            return nil
        }
    }

    /// Forgets an admitted connection.
    func release(_ address: String) {
        state.withLock { s in
            s.total -= 1
            let left = s.byAddress[address, default: 1] - 1
            s.byAddress[address] = left > 0 ? left : nil   // an address with no connection takes no memory
        }
    }

    /// Connections open now.
    var open: Int { state.withLock { $0.total } }

    /// Connections refused since start, by reason.
    var refused: [Refusal: Int] { state.withLock { $0.refused } }
}
