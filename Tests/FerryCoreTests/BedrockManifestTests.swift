import FerryCore
import Testing

@Suite("Bedrock (S3) targets")
struct BedrockManifestTests {
    static let models = """
        model_list:
          - model_name: batch
            litellm_params:
              model: bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0
              aws_region_name: us-west-2
              s3_bucket_name: ferry-batch
        """
    static let file = """
        kind: File
        metadata: {name: a}
        spec: {source: docs/a.jsonl, purpose: batch, targetModels: [batch]}
        """
    static let keys = environment.merging(["AWS_ACCESS_KEY_ID": "AKIATEST", "AWS_SECRET_ACCESS_KEY": "secret/key+1"]) { $1 }

    /// A bedrock/ model resolves to S3 in its region, Ferry's `ferry/` prefix in the bucket, the keys from the
    /// standard environment variables packed into the endpoint's one secret.
    @Test func resolvesTheEndpoint() throws {
        let loaded = try load(["bedrock.yaml": Self.models, "f.yaml": Self.file], tree: FakeTree(files: ["docs/a.jsonl": 10]), environment: Self.keys)
        let endpoint = try #require(loaded.desired.endpoints.first { $0.kind == .bedrock })
        #expect(endpoint.baseURL == "https://s3.us-west-2.amazonaws.com")
        #expect(endpoint.bucket == "ferry-batch/ferry" && endpoint.region == "us-west-2")
        #expect(endpoint.id == "bedrock|https://s3.us-west-2.amazonaws.com|bucket=ferry-batch/ferry|region=us-west-2|env:AWS_SECRET_ACCESS_KEY")
        #expect(endpoint.displayName == "bedrock s3://ferry-batch/ferry")
        let secret = try #require(loaded.secrets[endpoint.id])
        #expect(AWSCredentials(packed: secret.value) == AWSCredentials(accessKeyID: "AKIATEST", secretAccessKey: "secret/key+1"))
        #expect(!endpoint.id.contains("secret/key"))
    }

    /// LiteLLM's keys: the s3_* pair wins when both are set, aws_* with a session token otherwise; s3_endpoint_url
    /// moves the endpoint (moto, a private endpoint); `bucket/prefix` keeps that prefix; s3_region_name first.
    @Test func litellmKeys() throws {
        let models = """
            model_list:
              - model_name: batch
                litellm_params:
                  model: bedrock/anthropic.claude-3-haiku
                  s3_region_name: eu-central-1
                  aws_region_name: us-west-2
                  s3_bucket_name: s3://team-bucket/batches/
                  s3_endpoint_url: http://127.0.0.1:5000
                  aws_access_key_id: os.environ/TEAM_KEY_ID
                  aws_secret_access_key: os.environ/TEAM_SECRET
                  aws_session_token: os.environ/TEAM_TOKEN
            """
        let env = environment.merging(["TEAM_KEY_ID": "ASIATEAM", "TEAM_SECRET": "team-secret", "TEAM_TOKEN": "team-token"]) { $1 }
        let loaded = try load(["bedrock.yaml": models, "f.yaml": Self.file], tree: FakeTree(files: ["docs/a.jsonl": 10]), environment: env)
        let endpoint = try #require(loaded.desired.endpoints.first { $0.kind == .bedrock })
        #expect(endpoint.baseURL == "http://127.0.0.1:5000")
        #expect(endpoint.bucket == "team-bucket/batches" && endpoint.region == "eu-central-1")
        #expect(endpoint.credential == .environment("TEAM_SECRET"))
        #expect(AWSCredentials(packed: loaded.secrets[endpoint.id]!.value)
            == AWSCredentials(accessKeyID: "ASIATEAM", secretAccessKey: "team-secret", sessionToken: "team-token"))

        let pair = models.replacingOccurrences(
            of: "      aws_access_key_id: os.environ/TEAM_KEY_ID\n",
            with: "      s3_access_key_id: os.environ/TEAM_KEY_ID\n      s3_secret_access_key: os.environ/TEAM_TOKEN\n")
        let fromPair = try load(["bedrock.yaml": pair, "f.yaml": Self.file], tree: FakeTree(files: ["docs/a.jsonl": 10]), environment: env)
        let pairEndpoint = try #require(fromPair.desired.endpoints.first { $0.kind == .bedrock })
        #expect(AWSCredentials(packed: fromPair.secrets[pairEndpoint.id]!.value)
            == AWSCredentials(accessKeyID: "ASIATEAM", secretAccessKey: "team-token"))
    }

    /// Missing keys, region or bucket are errors at the model, naming what to set, only when a file targets it.
    @Test func missingSettingsOnlyWhenTargeted() throws {
        let noKeys = diagnostics(["bedrock.yaml": Self.models, "f.yaml": Self.file], tree: FakeTree(files: ["docs/a.jsonl": 10]))
        #expect(noKeys == [
            "manifests/bedrock.yaml:2:5: error: model 'batch' has no AWS keys for S3 (hint: set litellm_params.aws_access_key_id and aws_secret_access_key (os.environ/NAME), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        ])
        let noRegion = Self.models.replacingOccurrences(of: "      aws_region_name: us-west-2\n", with: "")
        #expect(diagnostics(["bedrock.yaml": noRegion, "f.yaml": Self.file], tree: FakeTree(files: ["docs/a.jsonl": 10]), environment: Self.keys) == [
            "manifests/bedrock.yaml:2:5: error: model 'batch' has no AWS region for its S3 bucket (hint: set litellm_params.aws_region_name (e.g. us-west-2), or export AWS_REGION)"
        ])
        var withRegion = Self.keys
        withRegion["AWS_DEFAULT_REGION"] = "ap-south-1"
        let regional = try load(["bedrock.yaml": noRegion, "f.yaml": Self.file], tree: FakeTree(files: ["docs/a.jsonl": 10]), environment: withRegion)
        #expect(regional.desired.endpoints.first { $0.kind == .bedrock }?.region == "ap-south-1")
        let noBucket = Self.models.replacingOccurrences(of: "\n      s3_bucket_name: ferry-batch", with: "")
        #expect(diagnostics(["bedrock.yaml": noBucket, "f.yaml": Self.file], tree: FakeTree(files: ["docs/a.jsonl": 10]), environment: Self.keys) == [
            "manifests/bedrock.yaml:2:5: error: model 'batch' has no S3 bucket for its batch files (hint: set litellm_params.s3_bucket_name (bucket or bucket/prefix; or files_settings), or export AWS_S3_BUCKET_NAME)"
        ])
        // Untargeted, nothing is needed.
        let untargeted = try load(["bedrock.yaml": noBucket], tree: FakeTree(files: ["docs/a.jsonl": 10]))
        #expect(untargeted.desired.endpoints.allSatisfy { $0.kind != .bedrock })
    }

    /// A bad bucket name, a region that is not one, a profile (unsupported) are errors at their key.
    @Test func badValuesAtTheirKey() throws {
        let badBucket = Self.models.replacingOccurrences(of: "ferry-batch", with: "Ferry_Batch")
        let bucketErrors = diagnostics(["bedrock.yaml": badBucket, "f.yaml": Self.file], tree: FakeTree(files: ["docs/a.jsonl": 10]), environment: Self.keys)
        #expect(bucketErrors.count == 1 && bucketErrors[0].hasPrefix("manifests/bedrock.yaml:6:23: error: S3 bucket 'Ferry_Batch'"))
        let badRegion = Self.models.replacingOccurrences(of: "us-west-2", with: "Oregon")
        let regionErrors = diagnostics(["bedrock.yaml": badRegion, "f.yaml": Self.file], tree: FakeTree(files: ["docs/a.jsonl": 10]), environment: Self.keys)
        #expect(regionErrors.count == 1 && regionErrors[0].hasPrefix("manifests/bedrock.yaml:5:24: error: 'Oregon'"))
        let profile = Self.models + "\n      aws_profile_name: dev\n"
        let profileErrors = diagnostics(["bedrock.yaml": profile, "f.yaml": Self.file], tree: FakeTree(files: ["docs/a.jsonl": 10]), environment: Self.keys)
        #expect(profileErrors.count == 1 && profileErrors[0].contains("aws_profile_name of model 'batch' is not supported by Ferry"))
    }

    /// A file name that would make an S3 key over 1024 bytes is refused at the source, naming the limit.
    @Test func objectKeyLimit() throws {
        let long = String(repeating: "n", count: 1000) + ".jsonl"
        let file = """
            kind: File
            metadata: {name: a}
            spec: {source: docs/a.jsonl, purpose: batch, filename: \(long), targetModels: [batch]}
            """
        let errors = diagnostics(["bedrock.yaml": Self.models, "f.yaml": file], tree: FakeTree(files: ["docs/a.jsonl": 10]), environment: Self.keys)
        #expect(errors.count == 1 && errors[0].contains("over S3's 1024"), "\(errors)")
    }
}
