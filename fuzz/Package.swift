// swift-tools-version: 6.1
import Foundation
import PackageDescription

// The libFuzzer binary over Earshot's parsers of outside bytes. A package of its own so the root
// package's `swift build` never needs the fuzzer runtime; built and run by `scripts/fuzz` with
// `-sanitize=fuzzer,address`. One executable serves every target (chosen by EARSHOT_FUZZ_TARGET):
// linking one address-sanitized binary with the server's dependencies takes minutes, sixteen would
// take an hour, and the targets share all their code anyway (`EarshotFuzzEntries`).

// A path dependency's package identity is its directory's name, which depends on the checkout.
let earshot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "EarshotFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        // The declaration of libFuzzer's driver, which main.swift calls.
        .target(name: "CLibFuzzer"),
        .executableTarget(
            name: "earshot-fuzz",
            dependencies: ["CLibFuzzer", .product(name: "EarshotFuzzEntries", package: earshot)]
        ),
    ]
)
