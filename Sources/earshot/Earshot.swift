import ArgumentParser

@main
struct Earshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "earshot",
        abstract: "Local speech recognition (Qwen3-ASR) with memory that comes back."
    )
}
