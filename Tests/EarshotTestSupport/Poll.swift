/// Waiting for states that background tasks reach (a model unloading, a request finishing).
public enum Poll {
    /// Polls `condition` every 5 ms for up to `seconds`; its last answer.
    public static func until(seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return try await condition()
    }
}
