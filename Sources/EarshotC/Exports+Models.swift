import EarshotModels
import EarshotRuntime
import Foundation

@_cdecl("earshot_model_load")
public func earshot_model_load(_ path: CString?, _ options: CString?, _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    call { () throws(ABIError) in
        let f = "earshot_model_load"
        let out = try required(out, "out_model", in: f)
        out.pointee = 0
        let path = String(cString: try required(path, "path", in: f))
        let precision = try OptionsJSON.precision(options)
        // Refuse what cannot fit before mapping anything (the estimate reads only headers).
        let estimate: MemoryEstimate
        do throws(ModelError) { estimate = try ModelRegistry.estimate(directory: path, precision: precision) } catch { throw ABIError(error) }
        let need = estimate.total(sessions: 1)
        if let available = MemoryReport.availableSystemBytes(), need > available {
            throw ABIError(RuntimeError.insufficientMemory(model: path, neededBytes: need, availableBytes: available))
        }
        let model: LoadedModel
        do throws(ModelError) { model = try ModelRegistry.load(directory: path, precision: precision) } catch { throw ABIError(error) }
        out.pointee = Handles.shared.add(NativeModel(model: model, path: path))
    }
}

@_cdecl("earshot_model_info")
public func earshot_model_info(_ handle: UInt64, _ out: OutString?) -> Int32 {
    call { () throws(ABIError) in
        let out = try required(out, "out_json", in: "earshot_model_info")
        let m = try Handles.shared.model(handle)
        struct Info: Encodable {
            var family, path: String
            var mappedBytes: Int
            var languages: [String]
            enum CodingKeys: String, CodingKey { case family, path, mappedBytes = "mapped_bytes", languages }
        }
        try output(try encodeJSON(Info(family: m.model.family.rawValue, path: m.path, mappedBytes: m.model.mappedBytes,
                                       languages: m.model.supportedLanguages)), to: out)
    }
}

@_cdecl("earshot_model_free")
public func earshot_model_free(_ handle: UInt64) -> Int32 {
    call { () throws(ABIError) in
        let model = try Handles.shared.removeModel(handle)
        withExtendedLifetime(model) {}   // the weights go here unless a session still holds them
    }
}

@_cdecl("earshot_session_create")
public func earshot_session_create(_ handle: UInt64, _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    call { () throws(ABIError) in
        let out = try required(out, "out_session", in: "earshot_session_create")
        out.pointee = 0
        let model = try Handles.shared.model(handle)
        let session: NativeSession
        do throws(RuntimeError) { session = try NativeSession(owner: model) } catch { throw ABIError(error) }
        out.pointee = Handles.shared.add(session)
    }
}

@_cdecl("earshot_session_reset")
public func earshot_session_reset(_ handle: UInt64) -> Int32 {
    call { () throws(ABIError) in
        let session = try Handles.shared.session(handle)
        try session.claim(handle, by: "earshot_session_reset")
        session.runtimeSession.reset()
        session.release()
    }
}

@_cdecl("earshot_session_cancel")
public func earshot_session_cancel(_ handle: UInt64) -> Int32 {
    call { () throws(ABIError) in
        let session = try Handles.shared.session(handle)
        session.cancelIfBusy()
    }
}

@_cdecl("earshot_session_free")
public func earshot_session_free(_ handle: UInt64) -> Int32 {
    call { () throws(ABIError) in
        let session = try Handles.shared.removeSession(handle)
        // A transcription in flight holds the session: stop it; its buffers go when it returns.
        session.cancelIfBusy()
    }
}
