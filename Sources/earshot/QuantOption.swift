import ArgumentParser
import EarshotModels
import EarshotRuntime

/// `--quant`: the weight precision asked for on the command line.
enum QuantOption: String, ExpressibleByArgument, CaseIterable {
    case q8, q4, bf16

    /// bf16 keeps the weights as stored (a bf16 checkpoint is read in place).
    var precision: WeightPrecision {
        switch self {
        case .q8: return .q8
        case .q4: return .q4
        case .bf16: return .inPlace
        }
    }
}

/// Loads a model of any family, showing a progress line while matrices are quantized at load
/// (quantizing a 1.7B checkpoint takes seconds). Returns the model and the load's wall time.
func loadModelShowingProgress(_ path: String, quant: QuantOption?) throws(ModelError) -> (model: LoadedModel, loadMs: Double) {
    let progress = ProgressLine()
    defer { progress.finish() }
    let clock = ContinuousClock()
    let start = clock.now
    let model = try ModelRegistry.load(directory: path, precision: quant?.precision ?? .inPlace, progress: { done, total in
        progress.show("quantizing \(quant?.rawValue ?? ""): \(done)/\(total) matrices")
    })
    return (model, (clock.now - start).milliseconds)
}
