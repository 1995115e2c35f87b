/// Bedrock models to S3 endpoints, read the way LiteLLM's `bedrock` files read them (`llms/bedrock/files`,
/// `base_aws_llm.py`): the bucket, the region, the S3 endpoint and static AWS keys.
extension LoadContext {
    /// A `bedrock/…` model's S3 endpoint, or nil (reported) when something it needs is missing.
    ///
    /// - bucket: `s3_bucket_name` (`bucket` or `bucket/prefix`), else `AWS_S3_BUCKET_NAME`. Ferry keeps its objects
    ///   under the prefix, `ferry/` when the setting names only a bucket.
    /// - region: `s3_region_name`, `aws_region_name`, else `AWS_REGION_NAME`, `AWS_REGION`, `AWS_DEFAULT_REGION`.
    /// - endpoint: `s3_endpoint_url` (or `api_base`), else `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else
    ///   `https://s3.{region}.amazonaws.com`; always path-style (`{endpoint}/{bucket}/{key}`), as LiteLLM does.
    /// - keys: `s3_access_key_id` + `s3_secret_access_key` when both are set, else `aws_access_key_id`,
    ///   `aws_secret_access_key`, `aws_session_token`, else `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    ///   `AWS_SESSION_TOKEN`. Profiles, roles and web identity are not supported: they are reported.
    mutating func resolveBedrockEndpoint(_ raw: RawModel, secrets: inout [String: Secret]) -> Endpoint? {
        let settings = fileSettings.first { ProviderKind.byLiteLLMProvider[$0.provider] == .bedrock }
        func param(_ name: String) -> (value: String, place: Place)? { raw.params[name] ?? settings?.params[name] }

        // `.some(nil)`: present but unusable (reported); nil: absent.
        func lookup(_ names: [String], environment: [String]) -> (String, CredentialReference)?? {
            for name in names {
                guard let (text, place) = param(name) else { continue }
                guard text.hasPrefix("os.environ/") else {
                    return .some((text, .inline(fingerprint: String(SHA256Digest.hex(text).prefix(8)))))
                }
                let variable = String(text.dropFirst("os.environ/".count))
                if let resolved = loader.environment[variable], !resolved.isEmpty {
                    return .some((resolved, .environment(variable)))
                }
                if loader.offline {
                    note(
                        place, "environment variable \(variable) is not set (model '\(raw.name)' needs \(name))",
                        hint: "validated offline; set it where Ferry plans and applies")
                    return .some((name.hasSuffix("bucket_name") ? "unset-bucket" : "unset", .environment(variable)))
                }
                error(
                    place, "environment variable \(variable) is not set (model '\(raw.name)' needs \(name))",
                    hint: "export \(variable)=… before running Ferry")
                return .some(nil)
            }
            for variable in environment {
                if let resolved = loader.environment[variable], !resolved.isEmpty {
                    return .some((resolved, .environment(variable)))
                }
            }
            return nil
        }

        // Bucket.
        guard case .some(let bucketFound) = lookup(["s3_bucket_name"], environment: ["AWS_S3_BUCKET_NAME"])
            ?? offlineCredential(raw, variable: "AWS_S3_BUCKET_NAME", for: "s3_bucket_name")
        else {
            error(
                raw.place, "model '\(raw.name)' has no S3 bucket for its batch files",
                hint: "set litellm_params.s3_bucket_name (bucket or bucket/prefix; or files_settings), "
                    + "or export AWS_S3_BUCKET_NAME")
            return nil
        }
        guard let bucketFound else { return nil }
        let bucketSetting = Endpoint.s3BucketSetting(bucketFound.0)
        let bucketPlace = param("s3_bucket_name")?.place ?? raw.place
        if let problem = Self.s3BucketProblem(String(bucketSetting.prefix { $0 != "/" })) {
            error(
                bucketPlace, "S3 bucket '\(bucketFound.0)' of model '\(raw.name)' is not valid: \(problem)",
                hint: "bucket names are 3-63 lower-case letters, digits, '.' and '-'")
            return nil
        }

        // Region.
        let regionFound = lookup(
            ["s3_region_name", "aws_region_name"], environment: ["AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION"])
            ?? offlineCredential(raw, variable: "AWS_REGION", for: "aws_region_name")
        guard case .some(let regionValue) = regionFound else {
            error(
                raw.place, "model '\(raw.name)' has no AWS region for its S3 bucket",
                hint: "set litellm_params.aws_region_name (e.g. us-west-2), or export AWS_REGION")
            return nil
        }
        guard let regionValue else { return nil }
        let region = regionValue.0 == "unset" ? "us-east-1" : regionValue.0
        guard Self.isAWSRegion(region) else {
            error(
                param("s3_region_name")?.place ?? param("aws_region_name")?.place ?? raw.place,
                "'\(region)' of model '\(raw.name)' is not an AWS region", hint: "e.g. us-west-2, eu-central-1")
            return nil
        }

        // Endpoint: path-style when overridden (a private endpoint, moto, the simulator).
        var baseURL = Endpoint.defaultS3Endpoint(region: region)
        switch lookup(["s3_endpoint_url", "api_base"], environment: ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]) {
        case .some(.some(let endpoint)):
            let place = param("s3_endpoint_url")?.place ?? param("api_base")?.place ?? raw.place
            guard validURL(endpoint.0, place: place) else { return nil }
            baseURL = endpoint.0
        case .some(.none):
            return nil
        case .none:
            break
        }

        // Keys: the s3_* pair when both are set, else the aws_* chain, else the environment.
        for unsupported in ["aws_profile_name", "aws_role_name", "aws_web_identity_token"] {
            if let (_, place) = param(unsupported) {
                error(
                    place, "\(unsupported) of model '\(raw.name)' is not supported by Ferry",
                    hint: "give Ferry static keys: aws_access_key_id and aws_secret_access_key (os.environ/NAME), "
                        + "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
                return nil
            }
        }
        let pair = param("s3_access_key_id") != nil && param("s3_secret_access_key") != nil
        let keyID = pair
            ? lookup(["s3_access_key_id"], environment: [])
            : lookup(["aws_access_key_id"], environment: ["AWS_ACCESS_KEY_ID"])
        let secretKey = pair
            ? lookup(["s3_secret_access_key"], environment: [])
            : lookup(["aws_secret_access_key"], environment: ["AWS_SECRET_ACCESS_KEY"])
        let token = pair ? nil : lookup(["aws_session_token"], environment: ["AWS_SESSION_TOKEN"])
        var credentials: AWSCredentials?
        var reference = CredentialReference.none
        switch (keyID, secretKey) {
        case (.some(.some(let id)), .some(.some(let secret))):
            var sessionToken: String?
            if case .some(let found) = token {
                guard let found else { return nil }
                sessionToken = found.0
            }
            credentials = AWSCredentials(accessKeyID: id.0, secretAccessKey: secret.0, sessionToken: sessionToken)
            reference = secret.1
        case (.some(.none), _), (_, .some(.none)):
            return nil
        default:
            if loader.offline {
                note(
                    raw.place, "model '\(raw.name)' has no AWS keys: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
                    hint: "validated offline; set them where Ferry plans and applies")
                reference = .environment("AWS_SECRET_ACCESS_KEY")
            } else {
                error(
                    raw.place, "model '\(raw.name)' has no AWS keys for S3",
                    hint: "set litellm_params.aws_access_key_id and aws_secret_access_key (os.environ/NAME), "
                        + "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
                return nil
            }
        }
        if let credentials, let problem = credentials.problem {
            error(
                param("aws_access_key_id")?.place ?? param("s3_access_key_id")?.place ?? raw.place,
                "the AWS keys of model '\(raw.name)' (\(reference)) are not usable: \(problem)",
                hint: "check the variables for a trailing newline or a pasted quote")
            return nil
        }
        return finishEndpoint(
            Endpoint(kind: .bedrock, baseURL: baseURL, bucket: bucketSetting, region: region, credential: reference),
            key: credentials?.packed, raw: raw, secrets: &secrets)
    }

    /// Why S3 would refuse a bucket name (general-purpose bucket rules), or nil.
    static func s3BucketProblem(_ name: String) -> String? {
        guard (3...63).contains(name.utf8.count) else { return "it must be 3 to 63 characters long" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        if let bad = name.first(where: { !allowed.contains($0) }) { return "it contains '\(bad)'" }
        guard let first = name.first, let last = name.last, first.isLetter || first.isNumber,
            last.isLetter || last.isNumber
        else { return "it must start and end with a letter or digit" }
        if name.contains("..") { return "it contains '..'" }
        return nil
    }

    /// `us-west-2`, `eu-central-1`, `cn-north-1`, `us-gov-west-1`: letters and digits joined by '-'.
    static func isAWSRegion(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count >= 3 && parts.allSatisfy { part in
            !part.isEmpty && part.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber) }
        }
    }

    /// Why an S3 object key Ferry would write for `filename` under `prefix` is not acceptable, or nil. Keys are
    /// at most 1024 bytes of UTF-8; Ferry also refuses control characters (they break XML listings) and names
    /// that are only dots (`.`/`..` segments, which LiteLLM rejects in ids).
    static func s3KeyProblem(filename: String, purpose: String, prefix: String) -> String? {
        if filename.isEmpty || filename == "." || filename == ".." { return "it must be a name, not '\(filename)'" }
        if filename.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "it contains a control character"
        }
        // {prefix}/{purpose}/{64 hex}-{16 hex}/{filename}
        let bytes = prefix.utf8.count + 1 + purpose.utf8.count + 1 + 81 + 1 + filename.utf8.count
        if bytes > 1024 { return "the object key would be \(bytes) bytes, over S3's 1024" }
        return nil
    }
}
