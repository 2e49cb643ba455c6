import Hummingbird
import NIOCore
