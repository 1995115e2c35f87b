import Foundation
import Testing

@testable import FerrySimulator

@Suite("Cloud Storage objects")
struct GCSObjectsTests {
    @Test("media upload, paginated prefix listing, get, alt=media, delete, then 404")
    func roundTrip() async throws {
        try await withGCS { sim, auth in
            // The creation time lies between the start and the check (not "within 5 s of now": slow under load).
            let started = Int64(Date().timeIntervalSince1970)
            let data = Array("hello world".utf8)
            let created = try await mediaUpload(sim, auth, name: "ferry/abc/file.md", data: data)
            #expect(created.status == 200)
            let object = created.json
            let generation = try #require(object["generation"] as? String)
            #expect(matches(generation, "^[0-9]{16}$"))
            let port = sim.port
            #expect(object["kind"] as? String == "storage#object")
            #expect(object["id"] as? String == "\(testBucket)/ferry/abc/file.md/\(generation)")
            #expect(object["selfLink"] as? String == "http://127.0.0.1:\(port)/storage/v1/b/\(testBucket)/o/ferry%2Fabc%2Ffile.md")
            #expect(
                object["mediaLink"] as? String
                    == "http://127.0.0.1:\(port)/download/storage/v1/b/\(testBucket)/o/ferry%2Fabc%2Ffile.md?generation=\(generation)&alt=media")
            #expect(object["name"] as? String == "ferry/abc/file.md")
            #expect(object["bucket"] as? String == testBucket)
            #expect(object["metageneration"] as? String == "1")
            #expect(object["contentType"] as? String == "text/plain")
            #expect(object["storageClass"] as? String == "STANDARD")
            #expect(object["size"] as? String == "11")
            #expect(object["md5Hash"] as? String == "XrY7u+Ae7tCTyyK7j1rNww==")
            #expect(object["crc32c"] as? String == "yZRlqg==")
            let timeCreated = try #require(object["timeCreated"] as? String)
            #expect(matches(timeCreated, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))
            #expect(object["updated"] as? String == timeCreated)
            #expect(object.keys.sorted() == [
                "bucket", "contentType", "crc32c", "etag", "generation", "id", "kind", "md5Hash", "mediaLink",
                "metageneration", "name", "selfLink", "size", "storageClass", "timeCreated",
                "timeStorageClassUpdated", "updated",
            ])

            // More objects under the prefix and outside it.
            for name in ["ferry/abc/d.txt", "ferry/abc/a.txt", "ferry/abc/c.txt", "ferry/abc/b.txt", "other/x.txt", "ferry/abd"] {
                #expect(try await mediaUpload(sim, auth, name: name, data: Array(name.utf8)).status == 200)
            }
            let first = try await send(.GET, listURL(sim, "prefix=ferry%2Fabc%2F&maxResults=2"), headers: auth)
            #expect(first.status == 200)
            #expect(first.json["kind"] as? String == "storage#objects")
            #expect(first.names == ["ferry/abc/a.txt", "ferry/abc/b.txt"])
            #expect(first.json["nextPageToken"] is String)
            let all = try await listAll(sim, auth, "prefix=ferry%2Fabc%2F&maxResults=2")
            #expect(all.names == ["ferry/abc/a.txt", "ferry/abc/b.txt", "ferry/abc/c.txt", "ferry/abc/d.txt", "ferry/abc/file.md"])
            #expect(all.pages == 3)
            let everything = try await send(.GET, listURL(sim), headers: auth)
            #expect(everything.names.count == 7)
            #expect(everything.json["nextPageToken"] == nil)
            // An empty listing has no items at all.
            let none = try await send(.GET, listURL(sim, "prefix=nothing%2F"), headers: auth)
            #expect(none.status == 200)
            #expect(none.text == "{\"kind\":\"storage#objects\"}")

            // Get (the name URL-encoded) gives the resource the upload gave.
            let got = try await send(.GET, objectURL(sim, "ferry/abc/file.md"), headers: auth)
            #expect(got.status == 200)
            #expect(got.text == created.text)
            let listed = try #require(all.names.firstIndex(of: "ferry/abc/file.md"))
            #expect(listed == 4)

            let media = try await send(.GET, objectURL(sim, "ferry/abc/file.md") + "?alt=media", headers: auth)
            #expect(media.status == 200)
            #expect(media.body == data)
            #expect(media.header("Content-Type") == "text/plain")
            #expect(media.header("x-goog-hash") == "crc32c=yZRlqg==,md5=XrY7u+Ae7tCTyyK7j1rNww==")
            #expect(media.header("x-goog-generation") == generation)
            let viaMediaLink = try await send(.GET, try #require(object["mediaLink"] as? String), headers: auth)
            #expect(viaMediaLink.body == data)

            let deleted = try await send(.DELETE, objectURL(sim, "ferry/abc/file.md"), headers: auth)
            #expect(deleted.status == 204)
            #expect(deleted.body.isEmpty)
            let missing = try await send(.GET, objectURL(sim, "ferry/abc/file.md"), headers: auth)
            #expect(missing.status == 404)
            #expect(
                missing.text
                    == "{\"error\":{\"code\":404,\"message\":\"No such object: \(testBucket)/ferry/abc/file.md\",\"errors\":[{\"message\":\"No such object: \(testBucket)/ferry/abc/file.md\",\"domain\":\"global\",\"reason\":\"notFound\"}]}}")
            #expect(try await send(.GET, objectURL(sim, "ferry/abc/file.md") + "?alt=media", headers: auth).status == 404)
            #expect(try await send(.DELETE, objectURL(sim, "ferry/abc/file.md"), headers: auth).status == 404)

            let noBucket = try await send(.GET, listURL(sim, bucket: "no-such-bucket"), headers: auth)
            #expect(noBucket.status == 404)
            #expect(
                noBucket.text
                    == "{\"error\":{\"code\":404,\"message\":\"The specified bucket does not exist.\",\"errors\":[{\"message\":\"The specified bucket does not exist.\",\"domain\":\"global\",\"reason\":\"notFound\"}]}}")

            // Inspection API.
            let objects = sim.objects(bucket: testBucket)
            #expect(objects.map(\.filename) == ["ferry/abc/a.txt", "ferry/abc/b.txt", "ferry/abc/c.txt", "ferry/abc/d.txt", "ferry/abd", "other/x.txt"])
            #expect(objects[0].id == "gs://\(testBucket)/ferry/abc/a.txt")
            #expect(objects[0].bytes == 15)
            #expect(objects[0].sha256 == Digests.sha256Hex(Array("ferry/abc/a.txt".utf8)))
            #expect(objects[0].flavor == .gcs)
            #expect(objects[0].status == "processed")
            #expect((started...Int64(Date().timeIntervalSince1970) + 1).contains(objects[0].createdAt))

            let stats = sim.stats()
            #expect(stats.requests["POST /upload/storage/v1/b/{bucket}/o"] == 7)
            #expect(stats.requests["GET /storage/v1/b/{bucket}/o"] == 7)
            #expect(stats.requests["GET /storage/v1/b/{bucket}/o/{object}"] == 2)
            #expect(stats.requests["GET /storage/v1/b/{bucket}/o/{object}?alt=media"] == 2)
            #expect(stats.requests["GET /download/storage/v1/b/{bucket}/o/{object}"] == 1)
            #expect(stats.requests["DELETE /storage/v1/b/{bucket}/o/{object}"] == 2)
            #expect(stats.bytesDownloaded == 22)
            #expect(stats.responses["404"] == 4)
        }
    }

    @Test("object names with slashes, unicode, spaces, plus and percent signs; byte-wise order")
    func names() async throws {
        try await withGCS { sim, auth in
            let names = [
                "ferry/dir/naïve – résumé ✓.md", "a b+c%20d", "a-b", "a/b", "a0", "z", "É", "e\u{301}", "\u{e9}",
                "deep/er/and/deeper/",
            ]
            for (index, name) in names.enumerated() {
                let reply = try await mediaUpload(sim, auth, name: name, data: pattern(10 + index))
                #expect(reply.status == 200)
                #expect(reply.json["name"] as? String == name)
            }
            // "é" composed and decomposed are two objects, as they are two byte sequences.
            #expect(sim.objects(bucket: testBucket).count == names.count)
            let listed = try await send(.GET, listURL(sim), headers: auth)
            let expected = names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            #expect(listed.names == expected)
            #expect(listed.names.prefix(5) == ["a b+c%20d", "a-b", "a/b", "a0", "deep/er/and/deeper/"])
            for (index, name) in names.enumerated() {
                let media = try await send(.GET, objectURL(sim, name) + "?alt=media", headers: auth)
                #expect(media.status == 200, "\(name)")
                #expect(media.body == pattern(10 + index), "\(name)")
            }
            // Unencoded slashes in the path work too.
            let raw = try await send(.GET, "\(sim.gcsBaseURL)/storage/v1/b/\(testBucket)/o/a/b?alt=media", headers: auth)
            #expect(raw.body == pattern(13))
            // A literal plus in the path is a plus (not a space).
            let plus = try await send(.GET, "\(sim.gcsBaseURL)/storage/v1/b/\(testBucket)/o/a%20b+c%2520d?alt=media", headers: auth)
            #expect(plus.body == pattern(11))
            #expect(try await send(.DELETE, objectURL(sim, "ferry/dir/naïve – résumé ✓.md"), headers: auth).status == 204)
            #expect(sim.objectContent(bucket: testBucket, name: "ferry/dir/naïve – résumé ✓.md") == nil)
            // Names that are not valid.
            let bad = try await mediaUpload(sim, auth, name: "line\nbreak", data: [1])
            #expect(bad.status == 400)
            #expect(bad.reason == "invalid")
            let empty = try await send(
                .POST, "\(sim.gcsBaseURL)/upload/storage/v1/b/\(testBucket)/o?uploadType=media", headers: auth, body: [1])
            #expect(empty.status == 400)
            #expect(empty.error["message"] as? String == "Required parameter: name")
        }
    }

    @Test("delimiter listing folds names into prefixes; offsets bound the range")
    func delimiter() async throws {
        try await withGCS { sim, auth in
            for name in ["root.txt", "dir/a.txt", "dir/b.txt", "dir/sub/c.txt", "dis.txt", "e/f.txt"] {
                #expect(try await mediaUpload(sim, auth, name: name, data: [1]).status == 200)
            }
            let top = try await send(.GET, listURL(sim, "delimiter=%2F"), headers: auth)
            #expect(top.names == ["dis.txt", "root.txt"])
            #expect(top.json["prefixes"] as? [String] == ["dir/", "e/"])
            let dir = try await send(.GET, listURL(sim, "prefix=dir%2F&delimiter=%2F"), headers: auth)
            #expect(dir.names == ["dir/a.txt", "dir/b.txt"])
            #expect(dir.json["prefixes"] as? [String] == ["dir/sub/"])
            // Pages count prefixes and items together.
            let paged = try await listAll(sim, auth, "delimiter=%2F&maxResults=1")
            #expect(paged.names == ["dis.txt", "root.txt"])
            #expect(paged.pages == 4)
            let ranged = try await send(.GET, listURL(sim, "startOffset=dir%2Fb&endOffset=e"), headers: auth)
            #expect(ranged.names == ["dir/b.txt", "dir/sub/c.txt", "dis.txt"])
            let badToken = try await send(.GET, listURL(sim, "pageToken=bogus"), headers: auth)
            #expect(badToken.status == 400)
            let badMax = try await send(.GET, listURL(sim, "maxResults=0"), headers: auth)
            #expect(badMax.status == 400)
        }
    }

    @Test("partial responses: fields selects parts of listings and resources; a malformed selection is a 400")
    func partialResponses() async throws {
        try await withGCS { sim, auth in
            for name in ["p/a.txt", "p/b.txt", "p/c.txt"] {
                #expect(try await mediaUpload(sim, auth, name: name, data: Array(name.utf8)).status == 200)
            }
            let page = try await send(
                .GET, listURL(sim, "prefix=p%2F&maxResults=2&fields=nextPageToken%2Citems(name%2Csize%2Cmetadata)"),
                headers: auth)
            #expect(page.status == 200)
            #expect(page.json.keys.sorted() == ["items", "nextPageToken"])
            let items = try #require(page.json["items"] as? [[String: Any]])
            #expect(items.map { $0.keys.sorted() } == [["name", "size"], ["name", "size"]])
            #expect(items.map { $0["name"] as? String } == ["p/a.txt", "p/b.txt"])
            // The token of a partial page continues the listing.
            let token = try #require(page.json["nextPageToken"] as? String)
            let rest = try await send(.GET, listURL(sim, "prefix=p%2F&fields=items%2Fname&pageToken=\(token)"), headers: auth)
            #expect(rest.text == "{\"items\":[{\"name\":\"p/c.txt\"}]}")
            let star = try await send(.GET, listURL(sim, "prefix=p%2F&fields=items(*)"), headers: auth)
            #expect((star.json["items"] as? [[String: Any]])?.first?["md5Hash"] is String)
            #expect(star.json["kind"] == nil)
            let one = try await send(.GET, objectURL(sim, "p/a.txt") + "?fields=name,generation", headers: auth)
            #expect(one.json.keys.sorted() == ["generation", "name"])
            for bad in ["items(name", "items()", "a,,b", "items)"] {
                let reply = try await send(
                    .GET, listURL(sim, "fields=" + bad.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!),
                    headers: auth)
                #expect(reply.status == 400, "fields=\(bad)")
            }
        }
    }

    @Test("multipart/related upload with JSON metadata and media")
    func multipart() async throws {
        try await withGCS { sim, auth in
            let boundary = "sim-boundary-42"
            func body(_ metadata: String, _ media: [UInt8], mediaType: String = "application/jsonl") -> [UInt8] {
                Array("--\(boundary)\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n\(metadata)\r\n--\(boundary)\r\nContent-Type: \(mediaType)\r\n\r\n".utf8)
                    + media + Array("\r\n--\(boundary)--\r\n".utf8)
            }
            let media = pattern(70_000)
            let reply = try await send(
                .POST, "\(sim.gcsBaseURL)/upload/storage/v1/b/\(testBucket)/o?uploadType=multipart",
                headers: auth + [("Content-Type", "multipart/related; boundary=\(boundary)")],
                body: body("{\"name\":\"batch/in.jsonl\",\"metadata\":{\"owner\":\"ferry\"}}", media))
            #expect(reply.status == 200)
            #expect(reply.json["name"] as? String == "batch/in.jsonl")
            #expect(reply.json["contentType"] as? String == "application/jsonl")
            #expect(reply.json["size"] as? String == "70000")
            #expect(reply.json["metadata"] as? [String: String] == ["owner": "ferry"])
            #expect(sim.objectContent(bucket: testBucket, name: "batch/in.jsonl") == media)

            let conflicting = try await send(
                .POST, "\(sim.gcsBaseURL)/upload/storage/v1/b/\(testBucket)/o?uploadType=multipart&name=other",
                headers: auth + [("Content-Type", "multipart/related; boundary=\(boundary)")],
                body: body("{\"name\":\"batch/in.jsonl\"}", [1]))
            #expect(conflicting.status == 400)
            #expect(conflicting.error["message"] as? String == "Value 'batch/in.jsonl' in content does not agree with value 'other'.")
            let badJSON = try await send(
                .POST, "\(sim.gcsBaseURL)/upload/storage/v1/b/\(testBucket)/o?uploadType=multipart&name=x",
                headers: auth + [("Content-Type", "multipart/related; boundary=\(boundary)")], body: body("{nope", [1]))
            #expect(badJSON.status == 400)
            #expect(sim.objects(bucket: testBucket).count == 1)
        }
    }

    @Test("preconditions: ifGenerationMatch=0 refuses to overwrite; generations and deletes")
    func preconditions() async throws {
        try await withGCS { sim, auth in
            let first = try await mediaUpload(sim, auth, name: "once.txt", data: [1], extraQuery: "&ifGenerationMatch=0")
            #expect(first.status == 200)
            let generation = try #require(first.json["generation"] as? String)
            let again = try await mediaUpload(sim, auth, name: "once.txt", data: [2, 2], extraQuery: "&ifGenerationMatch=0")
            #expect(again.status == 412)
            #expect(
                again.text
                    == "{\"error\":{\"code\":412,\"message\":\"At least one of the pre-conditions you specified did not hold.\",\"errors\":[{\"message\":\"At least one of the pre-conditions you specified did not hold.\",\"domain\":\"global\",\"reason\":\"conditionNotMet\",\"locationType\":\"header\",\"location\":\"If-Match\"}]}}")
            #expect(sim.objectContent(bucket: testBucket, name: "once.txt") == [1])
            // Without a precondition an upload replaces the object with a newer generation.
            let replaced = try await mediaUpload(sim, auth, name: "once.txt", data: [3, 3, 3], extraQuery: "&ifGenerationMatch=\(generation)")
            #expect(replaced.status == 200)
            let newer = try #require(replaced.json["generation"] as? String)
            #expect(Int64(newer)! > Int64(generation)!)
            #expect(try await send(.GET, objectURL(sim, "once.txt") + "?generation=\(generation)", headers: auth).status == 404)
            #expect(try await send(.DELETE, objectURL(sim, "once.txt") + "?ifGenerationMatch=\(generation)", headers: auth).status == 412)
            #expect(try await send(.DELETE, objectURL(sim, "once.txt") + "?ifGenerationMatch=\(newer)", headers: auth).status == 204)
            // A resumable session checks at its start too.
            _ = try await mediaUpload(sim, auth, name: "taken.txt", data: [1])
            let start = try await send(
                .POST, "\(sim.gcsBaseURL)/upload/storage/v1/b/\(testBucket)/o?uploadType=resumable&name=taken.txt&ifGenerationMatch=0",
                headers: auth)
            #expect(start.status == 412)
        }
    }

    @Test("buckets: created on first upload or explicitly; invalid names are 400")
    func buckets() async throws {
        try await withGCS { sim, auth in
            #expect(sim.buckets().isEmpty)
            let created = try await send(
                .POST, "\(sim.gcsBaseURL)/storage/v1/b?project=test-project", headers: auth + [("Content-Type", "application/json")],
                body: Array("{\"name\":\"made-by-hand\"}".utf8))
            #expect(created.status == 200)
            #expect(created.json["kind"] as? String == "storage#bucket")
            #expect(created.json["name"] as? String == "made-by-hand")
            let twice = try await send(
                .POST, "\(sim.gcsBaseURL)/storage/v1/b?project=test-project", headers: auth,
                body: Array("{\"name\":\"made-by-hand\"}".utf8))
            #expect(twice.status == 409)
            let got = try await send(.GET, "\(sim.gcsBaseURL)/storage/v1/b/made-by-hand", headers: auth)
            #expect(got.status == 200)
            #expect(got.json["timeCreated"] as? String == created.json["timeCreated"] as? String)
            let empty = try await send(.GET, listURL(sim, bucket: "made-by-hand"), headers: auth)
            #expect(empty.text == "{\"kind\":\"storage#objects\"}")
            #expect(try await mediaUpload(sim, auth, bucket: "springs-up", name: "x", data: [1]).status == 200)
            #expect(sim.buckets() == ["made-by-hand", "springs-up"])
            let invalid = try await mediaUpload(sim, auth, bucket: "Bad_Bucket", name: "x", data: [1])
            #expect(invalid.status == 400)
            #expect(invalid.error["message"] as? String == "Invalid bucket name: 'Bad_Bucket'")
            #expect(try await send(.GET, "\(sim.gcsBaseURL)/storage/v1/b/missing-bucket", headers: auth).status == 404)
        }
    }

    @Test("seedObject and removeObject bypass HTTP")
    func seeding() async throws {
        try await withGCS { sim, auth in
            let seeded = sim.seedObject(bucket: "seeded", name: "vertex/old.jsonl", data: [7, 8, 9], createdAt: 1_700_000_000)
            #expect(seeded.id == "gs://seeded/vertex/old.jsonl")
            #expect(seeded.createdAt == 1_700_000_000)
            #expect(seeded.bytes == 3)
            let listed = try await send(.GET, listURL(sim, bucket: "seeded"), headers: auth)
            #expect(listed.names == ["vertex/old.jsonl"])
            #expect(listed.items.first?["timeCreated"] as? String == "2023-11-14T22:13:20.000Z")
            #expect(sim.stats().requests["POST /upload/storage/v1/b/{bucket}/o"] == nil)
            sim.removeObject(bucket: "seeded", name: "vertex/old.jsonl")
            sim.removeObject(bucket: "seeded", name: "never-was")
            #expect(sim.objects(bucket: "seeded").isEmpty)
            #expect(sim.objects(bucket: "no-such-bucket").isEmpty)
        }
    }
}
