import Testing
@testable import EarshotTensor
