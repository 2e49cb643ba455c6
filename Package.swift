// swift-tools-version: 6.1
import PackageDescription

// Dependencies point one way, down this list:
// EarshotTensor -> EarshotAudio -> EarshotTokenizer -> EarshotModels -> EarshotRuntime -> EarshotServer -> earshot.
// Library targets use only system libraries (OpenBLAS on Linux, Accelerate on macOS) and swift-log.

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

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
        .executable(name: "earshot", targets: ["earshot"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CEarshotBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // AVX2/FMA kernels behind a runtime CPU check (see the header for why they are C).
        .target(name: "CEarshotKernels"),
        .target(name: "EarshotTensor", dependencies: blas + ["CEarshotKernels"], swiftSettings: strict,
                linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS]))]),
        .target(name: "EarshotAudio", dependencies: ["EarshotTensor"], swiftSettings: strict),
        .target(name: "EarshotTokenizer", swiftSettings: strict),
        .target(name: "EarshotModels", dependencies: ["EarshotTensor", "EarshotTokenizer"], swiftSettings: strict),
        // glibc malloc statistics and malloc_trim for the memory probe (no library to link).
        .systemLibrary(name: "CEarshotMalloc"),
        .target(name: "EarshotRuntime", dependencies: ["EarshotModels", "EarshotAudio", "EarshotTokenizer", "EarshotTensor",
                                                       "CEarshotMalloc"],
                swiftSettings: strict),
        .executableTarget(
            name: "earshot",
            dependencies: [
                "EarshotTensor", "EarshotAudio", "EarshotTokenizer", "EarshotModels", "EarshotRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(name: "EarshotTestSupport", dependencies: ["EarshotTensor"], path: "Tests/EarshotTestSupport",
                swiftSettings: strict),
        .testTarget(name: "EarshotTensorTests", dependencies: ["EarshotTensor", "EarshotTestSupport"], swiftSettings: strict),
        .testTarget(name: "EarshotAudioTests", dependencies: ["EarshotAudio", "EarshotTestSupport"], swiftSettings: strict),
        .testTarget(name: "EarshotModelsTests", dependencies: ["EarshotModels", "EarshotAudio", "EarshotTokenizer", "EarshotTestSupport"], swiftSettings: strict),
        .testTarget(name: "EarshotRuntimeTests", dependencies: ["EarshotRuntime", "EarshotModels", "EarshotAudio", "EarshotTensor",
                                                            "EarshotTokenizer", "EarshotTestSupport"], swiftSettings: strict),
        .testTarget(name: "EarshotTokenizerTests", dependencies: ["EarshotTokenizer", "EarshotTestSupport"], swiftSettings: strict),
    ]
)
