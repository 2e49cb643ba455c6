// swift-tools-version: 6.1
import PackageDescription

// Dependencies point one way, down this graph (each target lists what it imports):
//
//   EarshotTensor      owned buffers, file formats, kernels     (CEarshotBLAS, CEarshotKernels, CEarshotMemory)
//   EarshotTokenizer   byte-level BPE                           (nothing)
//   EarshotAudio       WAV, ffmpeg, resampling, log-mel         -> EarshotTensor (CEarshotProcess)
//   EarshotModels      one folder per family                    -> EarshotTensor, EarshotTokenizer
//   EarshotRuntime     sessions, ModelManager, memory report    -> EarshotModels, EarshotAudio (CEarshotMalloc, CEarshotZlib)
//   EarshotBench       benchmarks, reports, random checkpoints  -> EarshotRuntime
//   EarshotServer      the HTTP API                             -> EarshotRuntime
//   EarshotC           the C ABI (libearshot)                   -> EarshotRuntime
//   earshot            the CLI                                  -> EarshotBench, EarshotServer
//   EarshotFuzzEntries one entry per parser, for fuzz/ and tests -> EarshotServer, EarshotC
//
// Third-party packages: only EarshotServer (Hummingbird, swift-nio, swift-log, service-lifecycle,
// swift-prometheus) and the earshot CLI (swift-argument-parser); tests add async-http-client.
// The library targets below EarshotServer use only system libraries (OpenBLAS on Linux,
// Accelerate on macOS) and the C shims beside them.

// EARSHOT_OPTIMIZE_DEBUG=1 (scripts/test sets it, building into .build-test): the debug
// configuration compiles Earshot's own targets with -O (C kernels -O2), dependencies stay -Onone.
// One build then serves the whole test suite (float parity and real weights at optimized speed,
// minutes instead of half an hour) and the CLI checks, with testable imports, bounds and
// overflow checks kept; a second, release build would double CI's compile time.
let optimizeDebug = Context.environment["EARSHOT_OPTIMIZE_DEBUG"] == "1"
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
] + (optimizeDebug ? [.unsafeFlags(["-O"], .when(configuration: .debug))] : [])
let cOptimized: [CSetting] = optimizeDebug ? [.unsafeFlags(["-O2"], .when(configuration: .debug))] : []

#if os(Linux)
let blas: [Target.Dependency] = ["CEarshotBLAS"]
#else
let blas: [Target.Dependency] = []
#endif

let package = Package(
    name: "Earshot",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EarshotTensor", targets: ["EarshotTensor"]),
        .library(name: "EarshotAudio", targets: ["EarshotAudio"]),
        .library(name: "EarshotTokenizer", targets: ["EarshotTokenizer"]),
        .library(name: "EarshotModels", targets: ["EarshotModels"]),
        .library(name: "EarshotRuntime", targets: ["EarshotRuntime"]),
        .library(name: "EarshotBench", targets: ["EarshotBench"]),
        .library(name: "EarshotServer", targets: ["EarshotServer"]),
        // The C ABI (earshot.h): built as libEarshotC.so; scripts/build-library installs it as libearshot.so.
        .library(name: "EarshotC", type: .dynamic, targets: ["EarshotC"]),
        .executable(name: "earshot", targets: ["earshot"]),
        // One entry per parser of outside bytes, shared by the libFuzzer package (fuzz/) and the tests.
        .library(name: "EarshotFuzzEntries", targets: ["EarshotFuzzEntries"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CEarshotBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // AVX2/FMA kernels behind a runtime CPU check (see the header for why they are C).
        .target(name: "CEarshotKernels", cSettings: cOptimized),
        // mremap, which Swift cannot import (variadic): page buffers grow without copying.
        .target(name: "CEarshotMemory"),
        .target(name: "EarshotTensor", dependencies: blas + ["CEarshotKernels", "CEarshotMemory"], swiftSettings: strict,
                linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS]))]),
        // posix_spawn helpers glibc hides behind _GNU_SOURCE (ffmpeg runs with only its own pipes).
        .target(name: "CEarshotProcess"),
        .target(name: "EarshotAudio", dependencies: ["EarshotTensor", "CEarshotProcess"], swiftSettings: strict),
        .target(name: "EarshotTokenizer", swiftSettings: strict),
        .target(name: "EarshotModels", dependencies: ["EarshotTensor", "EarshotTokenizer"], exclude: ["README.md"],
                swiftSettings: strict),
        // glibc malloc statistics and malloc_trim for the memory probe (no library to link).
        .systemLibrary(name: "CEarshotMalloc"),
        // zlib, for Whisper's compression ratio (exactly Python's zlib.compress).
        .systemLibrary(name: "CEarshotZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "EarshotRuntime", dependencies: ["EarshotModels", "EarshotAudio", "EarshotTokenizer", "EarshotTensor",
                                                       "CEarshotMalloc", "CEarshotZlib"],
                swiftSettings: strict),
        // Benchmarks (speed, switching, WER), their reports and plots, and random-weight checkpoints
        // of the real shapes: used by the CLI's `bench` and `make-random-checkpoint`, and by tests.
        .target(name: "EarshotBench", dependencies: ["EarshotRuntime", "EarshotModels", "EarshotAudio", "EarshotTokenizer",
                                                     "EarshotTensor"],
                swiftSettings: strict),
        // The HTTP API: the only target that imports Hummingbird.
        .target(name: "EarshotServer",
                dependencies: ["EarshotRuntime", "EarshotModels", "EarshotAudio",
                               .product(name: "Hummingbird", package: "hummingbird"),
                               .product(name: "HummingbirdCore", package: "hummingbird"),
                               .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                               .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                               .product(name: "Prometheus", package: "swift-prometheus"),
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOPosix", package: "swift-nio")],
                swiftSettings: strict),
        // The C ABI: @_cdecl functions over the runtime; its header is include/earshot.h.
        .target(name: "EarshotC", dependencies: ["EarshotRuntime", "EarshotModels", "EarshotAudio", "EarshotTensor"],
                exclude: ["include"], swiftSettings: strict),
        .executableTarget(
            name: "earshot",
            dependencies: [
                "EarshotTensor", "EarshotAudio", "EarshotTokenizer", "EarshotModels", "EarshotRuntime", "EarshotBench",
                "EarshotServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // The fuzz targets' entries (scripts/fuzz, RELIABILITY.md); they reach internal parsers through @_spi(Fuzzing).
        .target(name: "EarshotFuzzEntries",
                dependencies: ["EarshotTensor", "EarshotAudio", "EarshotTokenizer", "EarshotModels", "EarshotServer", "EarshotC"],
                swiftSettings: strict),
        .target(name: "EarshotTestSupport", dependencies: ["EarshotTensor"], path: "Tests/EarshotTestSupport",
                swiftSettings: strict),
        .testTarget(name: "EarshotTensorTests", dependencies: ["EarshotTensor", "EarshotTestSupport"], swiftSettings: strict),
        .testTarget(name: "EarshotAudioTests", dependencies: ["EarshotAudio", "EarshotTestSupport"], swiftSettings: strict),
        .testTarget(name: "EarshotModelsTests", dependencies: ["EarshotModels", "EarshotAudio", "EarshotTokenizer", "EarshotTestSupport"], swiftSettings: strict),
        .testTarget(name: "EarshotRuntimeTests", dependencies: ["EarshotRuntime", "EarshotBench", "EarshotModels", "EarshotAudio", "EarshotTensor",
                                                            "EarshotTokenizer", "EarshotTestSupport"], swiftSettings: strict),
        .testTarget(name: "EarshotServerTests", dependencies: ["EarshotServer", "EarshotRuntime", "EarshotBench", "EarshotModels", "EarshotAudio",
                                                           "EarshotTestSupport",
                                                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                           .product(name: "NIOCore", package: "swift-nio"),
                                                           .product(name: "NIOHTTP1", package: "swift-nio"),
                                                           .product(name: "NIOPosix", package: "swift-nio"),
                                                           .product(name: "Logging", package: "swift-log"),
                                                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
                    swiftSettings: strict),
        .testTarget(name: "EarshotBenchTests", dependencies: ["EarshotBench", "EarshotRuntime", "EarshotModels", "EarshotAudio", "EarshotTensor",
                                                          "EarshotTestSupport"], swiftSettings: strict),
        .testTarget(name: "EarshotFuzzRegressionTests", dependencies: ["EarshotFuzzEntries", "EarshotTestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "EarshotTokenizerTests", dependencies: ["EarshotTokenizer", "EarshotTestSupport"], swiftSettings: strict),
    ]
)
