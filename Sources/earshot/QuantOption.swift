import ArgumentParser
import EarshotModels

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
