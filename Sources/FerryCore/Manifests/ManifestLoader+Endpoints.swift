/// Models to endpoints: provider parameters, URLs and the secrets they reference.
extension LoadContext {
    mutating func resolveEndpoint(_ raw: RawModel, secrets: inout [String: Secret]) -> Endpoint? {
        guard let kind = ProviderKind.byLiteLLMProvider[raw.provider] else { return nil }
        if kind == .bedrock { return resolveBedrockEndpoint(raw, secrets: &secrets) }
        let settings = fileSettings.first { ProviderKind.byLiteLLMProvider[$0.provider] == kind }
        func param(_ name: String) -> (value: String, place: Place)? { raw.params[name] ?? settings?.params[name] }

        // Resolves `os.environ/NAME` references; reports unset variables at the reference.
        func value(_ name: String, defaultEnvironment: String?) -> (String, CredentialReference)?? {
            if let (text, place) = param(name) {
                if text.hasPrefix("os.environ/") {
                    let variable = String(text.dropFirst("os.environ/".count))
                    guard let resolved = loader.environment[variable], !resolved.isEmpty else {
                        if loader.offline {
                            note(
                                place, "environment variable \(variable) is not set (model '\(raw.name)' needs \(name))",
                                hint: "validated offline; set it where Ferry plans and applies")
                            return .some((Self.placeholder(for: name), .environment(variable)))
                        }
                        error(
                            place, "environment variable \(variable) is not set (model '\(raw.name)' needs \(name))",
                            hint: "export \(variable)=… before running Ferry")
                        return .some(nil)
                    }
                    return .some((resolved, .environment(variable)))
                }
                return .some((text, .inline(fingerprint: String(SHA256Digest.hex(text).prefix(8)))))
            }
            if let variable = defaultEnvironment, let resolved = loader.environment[variable], !resolved.isEmpty {
                return .some((resolved, .environment(variable)))
            }
            return nil
        }

        switch kind {
        case .bedrock:
            return nil  // resolveBedrockEndpoint (ManifestLoader+Bedrock.swift)
        case .openai:
            let found = value("api_key", defaultEnvironment: "OPENAI_API_KEY")
            guard case .some(let key) = found ?? offlineCredential(raw, variable: "OPENAI_API_KEY") else {
                error(
                    raw.place, "model '\(raw.name)' has no API key: OPENAI_API_KEY is not set",
                    hint: "set litellm_params.api_key: os.environ/NAME, or export OPENAI_API_KEY")
                return nil
            }
            guard case .some(let base) = value("api_base", defaultEnvironment: "OPENAI_API_BASE") else {
                return finishEndpoint(
                    Endpoint(kind: .openai, baseURL: "https://api.openai.com/v1", credential: key?.1 ?? .none),
                    key: key?.0, raw: raw, secrets: &secrets)
            }
            guard let key, let base else { return nil }
            guard validURL(base.0, place: param("api_base")?.place ?? raw.place) else { return nil }
            return finishEndpoint(
                Endpoint(kind: .openai, baseURL: base.0, credential: key.1), key: key.0, raw: raw, secrets: &secrets)
        case .anthropic:
            // LiteLLM's order: api_key, then ANTHROPIC_API_KEY; api_base, then ANTHROPIC_API_BASE, then
            // ANTHROPIC_BASE_URL, then the public API. The base is the host root: the client appends /v1/files.
            let found = value("api_key", defaultEnvironment: "ANTHROPIC_API_KEY")
            guard case .some(let key) = found ?? offlineCredential(raw, variable: "ANTHROPIC_API_KEY") else {
                error(
                    raw.place, "model '\(raw.name)' has no Anthropic API key: ANTHROPIC_API_KEY is not set",
                    hint: "set litellm_params.api_key: os.environ/NAME, or export ANTHROPIC_API_KEY")
                return nil
            }
            let base = value("api_base", defaultEnvironment: "ANTHROPIC_API_BASE")
                ?? value("api_base", defaultEnvironment: "ANTHROPIC_BASE_URL")
            guard case .some(let baseValue) = base else {
                return finishEndpoint(
                    Endpoint(kind: .anthropic, baseURL: "https://api.anthropic.com", credential: key?.1 ?? .none),
                    key: key?.0, raw: raw, secrets: &secrets)
            }
            guard let key, let baseValue else { return nil }
            guard validURL(baseValue.0, place: param("api_base")?.place ?? raw.place) else { return nil }
            return finishEndpoint(
                Endpoint(kind: .anthropic, baseURL: Endpoint.anthropicBase(baseValue.0), credential: key.1),
                key: key.0, raw: raw, secrets: &secrets)
        case .gemini:
            // LiteLLM's order: api_key, then GOOGLE_API_KEY, then GEMINI_API_KEY; api_base, then GEMINI_API_BASE,
            // then the public API. The base is the host root: the client appends /v1beta/files.
            let found = value("api_key", defaultEnvironment: "GOOGLE_API_KEY")
                ?? value("api_key", defaultEnvironment: "GEMINI_API_KEY")
            guard case .some(let key) = found ?? offlineCredential(raw, variable: "GEMINI_API_KEY") else {
                error(
                    raw.place, "model '\(raw.name)' has no Gemini API key: neither GOOGLE_API_KEY nor GEMINI_API_KEY is set",
                    hint: "set litellm_params.api_key: os.environ/NAME, or export GEMINI_API_KEY")
                return nil
            }
            guard case .some(let baseValue) = value("api_base", defaultEnvironment: "GEMINI_API_BASE") else {
                return finishEndpoint(
                    Endpoint(
                        kind: .gemini, baseURL: "https://generativelanguage.googleapis.com", credential: key?.1 ?? .none),
                    key: key?.0, raw: raw, secrets: &secrets)
            }
            guard let key, let baseValue else { return nil }
            guard validURL(baseValue.0, place: param("api_base")?.place ?? raw.place) else { return nil }
            return finishEndpoint(
                Endpoint(kind: .gemini, baseURL: Endpoint.geminiBase(baseValue.0), credential: key.1),
                key: key.0, raw: raw, secrets: &secrets)
        case .azure:
            let key = value("api_key", defaultEnvironment: "AZURE_API_KEY") ?? offlineCredential(raw, variable: "AZURE_API_KEY")
            let base = value("api_base", defaultEnvironment: "AZURE_API_BASE") ?? offlineCredential(raw, variable: "AZURE_API_BASE", for: "api_base")
            let version = value("api_version", defaultEnvironment: "AZURE_API_VERSION")
            guard case .some(let keyValue) = key else {
                error(
                    raw.place, "model '\(raw.name)' has no Azure API key: AZURE_API_KEY is not set",
                    hint: "set litellm_params.api_key: os.environ/NAME, or export AZURE_API_KEY")
                return nil
            }
            guard case .some(let baseValue) = base else {
                error(
                    raw.place, "model '\(raw.name)' has no api_base",
                    hint: "set litellm_params.api_base to https://<resource>.openai.azure.com, or export AZURE_API_BASE")
                return nil
            }
            guard let keyValue, let baseValue else { return nil }
            var apiVersion = "2024-10-21"
            if case .some(let versionValue) = version {
                guard let versionValue else { return nil }
                apiVersion = versionValue.0
            }
            guard validURL(baseValue.0, place: param("api_base")?.place ?? raw.place) else { return nil }
            return finishEndpoint(
                Endpoint(kind: .azure, baseURL: baseValue.0, apiVersion: apiVersion, credential: keyValue.1),
                key: keyValue.0, raw: raw, secrets: &secrets)
        case .vertex:
            let bucket = value("gcs_bucket_name", defaultEnvironment: "GCS_BUCKET_NAME")
                ?? offlineCredential(raw, variable: "GCS_BUCKET_NAME", for: "gcs_bucket_name")
            guard case .some(let bucketValue) = bucket else {
                error(
                    raw.place, "model '\(raw.name)' has no Cloud Storage bucket for its files",
                    hint: "set litellm_params.gcs_bucket_name (or files_settings, or export GCS_BUCKET_NAME)")
                return nil
            }
            guard let bucketValue else { return nil }
            var baseURL = "https://storage.googleapis.com"
            var emulated = false
            if let emulator = loader.environment["STORAGE_EMULATOR_HOST"], !emulator.isEmpty {
                baseURL = emulator.hasPrefix("http") ? emulator : "http://" + emulator
                emulated = true
            } else if case .some(let base) = value("api_base", defaultEnvironment: nil) {
                // Ferry's extension: a Cloud Storage base URL (a private endpoint, or a test server that checks auth).
                guard let base, validURL(base.0, place: param("api_base")?.place ?? raw.place) else { return nil }
                baseURL = base.0
            }
            var credential = CredentialReference.none
            var secret: String?
            switch value("vertex_credentials", defaultEnvironment: "GOOGLE_APPLICATION_CREDENTIALS") {
            case .some(.some(let credentials)):
                credential = credentials.1
                secret = credentials.0
            case .some(.none):
                return nil
            case .none where !emulated && loader.offline:
                note(
                    raw.place, "model '\(raw.name)' has no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not set",
                    hint: "validated offline; set it where Ferry plans and applies")
            case .none where !emulated:
                error(
                    raw.place, "model '\(raw.name)' has no Google credentials for Cloud Storage",
                    hint: "set litellm_params.vertex_credentials (a service-account key file or JSON), "
                        + "or export GOOGLE_APPLICATION_CREDENTIALS")
                return nil
            case .none:
                break  // emulators take anonymous requests
            }
            // Ferry keeps its objects under a prefix of their own (`ferry/` unless the setting names one), so
            // listing is cheap and the rest of the bucket is never even looked at.
            return finishEndpoint(
                Endpoint(
                    kind: .vertex, baseURL: baseURL, bucket: Endpoint.bucketSetting(bucketValue.0),
                    credential: credential),
                key: secret, raw: raw, secrets: &secrets)
        }
    }

    /// Offline, a value the default variable would give stands in as a placeholder, with a note; online, nil.
    mutating func offlineCredential(_ raw: RawModel, variable: String, for name: String = "api_key")
        -> (String, CredentialReference)??
    {
        guard loader.offline else { return nil }
        note(
            raw.place, "model '\(raw.name)' needs \(variable) (or litellm_params.\(name)), which is not set",
            hint: "validated offline; set it where Ferry plans and applies")
        return .some((Self.placeholder(for: name), .environment(variable)))
    }

    /// What an unset value is checked as offline: URLs must still look like URLs.
    static func placeholder(for name: String) -> String {
        name == "api_base" ? "https://unset.invalid" : name == "gcs_bucket_name" ? "unset-bucket" : "unset"
    }

    /// LiteLLM's `rpm` (requests per minute) of a deployment: Ferry keeps its own requests to the model's endpoint
    /// under it. Nil when absent or invalid (reported).
    mutating func requestsPerMinute(_ raw: RawModel) -> Int? {
        guard let (text, place) = raw.params["rpm"] else { return nil }
        guard let value = Int(text), value > 0 else {
            error(place, "rpm '\(text)' of model '\(raw.name)' is not a positive whole number of requests per minute",
                hint: "e.g. rpm: 60, or remove it for no limit")
            return nil
        }
        return value
    }

    mutating func validURL(_ text: String, place: Place) -> Bool {
        let lower = text.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), text.count > 8, !text.contains(" ") else {
            error(place, "api_base '\(text)' is not an http(s) URL", hint: "e.g. https://api.openai.com/v1")
            return false
        }
        return true
    }

    func finishEndpoint(_ endpoint: Endpoint, key: String?, raw: RawModel, secrets: inout [String: Secret]) -> Endpoint {
        if let key { secrets[endpoint.id] = Secret(key) }
        return endpoint
    }
}
