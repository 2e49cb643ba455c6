import Testing
@testable import EarshotTokenizer
