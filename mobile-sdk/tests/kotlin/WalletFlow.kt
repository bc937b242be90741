// The wallet flow through the generated Kotlin binding on the JVM, as an Android app would
// drive it, against real gateways (`gdpr-gateway demo --serve`: two organisations and a
// relay): key stores written in Kotlin (in memory, in files, and one whose storage fails),
// pairing with the code typed into the portal API, a call cancelled and the wallet still
// usable, the catalogue, a compact JWS and a zip package downloaded and verified, typed
// errors, a rights request, forwarding to the second organisation, events, revocation.
//
// Usage: java -Djna.library.path=<dir of libgdpr_wallet.so> -cp … gdprwallet.test.WalletFlowKt <gdpr-gateway>
package gdprwallet.test

import java.io.IOException
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardCopyOption
import java.nio.file.attribute.PosixFilePermissions
import java.time.Duration
import java.time.Instant
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import java.util.zip.ZipFile
import kotlin.system.exitProcess
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import com.example.wallet.scanPairDownload
import uniffi.gdpr_wallet.ConnectionState
import uniffi.gdpr_wallet.EventKind
import uniffi.gdpr_wallet.ExportPurpose
import uniffi.gdpr_wallet.KeyStore
import uniffi.gdpr_wallet.RequestForm
import uniffi.gdpr_wallet.RequestKind
import uniffi.gdpr_wallet.RequestUpdate
import uniffi.gdpr_wallet.Wallet
import uniffi.gdpr_wallet.WalletException

/** How long a call may wait for an organisation's answer through the relay. */
val WAIT: Duration = Duration.ofSeconds(20)

var passed = 0
var failed = 0

fun check(name: String, ok: Boolean, detail: Any? = "") {
    if (ok) passed++ else failed++
    println("${if (ok) "ok  " else "FAIL"} $name ${if (ok) "" else detail}")
}

/** Expects [block] to throw an [E]; checks [test] on it. */
suspend inline fun <reified E : Throwable> expectThrows(name: String, block: suspend () -> Unit, test: (E) -> Boolean) {
    try {
        block()
        check(name, false, "nothing was thrown")
    } catch (e: Throwable) {
        check(name, e is E && test(e), e)
    }
}

/** What an app keeps in the Android Keystore or the Keychain; here a map. */
class MemoryKeyStore : KeyStore {
    val entries = ConcurrentHashMap<String, ByteArray>()
    override fun load(name: String): ByteArray? = entries[name]
    override fun save(name: String, value: ByteArray) { entries[name] = value.copyOf() }
    override fun delete(name: String) { entries.remove(name) }
    override fun names(): List<String> = entries.keys.sorted()
}

/** One owner-only file per entry, replaced atomically: a wallet that survives a restart. */
class DirectoryKeyStore(private val dir: Path) : KeyStore {
    init {
        Files.createDirectories(dir)
    }

    override fun load(name: String): ByteArray? = dir.resolve(name).let { if (Files.exists(it)) Files.readAllBytes(it) else null }

    override fun save(name: String, value: ByteArray) {
        val temporary = Files.createTempFile(dir, ".$name", ".tmp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
        Files.write(temporary, value)
        Files.move(temporary, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
    }

    override fun delete(name: String) { Files.deleteIfExists(dir.resolve(name)) }

    override fun names(): List<String> = Files.list(dir).use { files ->
        files.map { it.fileName.toString() }.filter { !it.startsWith(".") }.sorted().toList()
    }
}

/** A platform store that fails, as a full disk or a locked keystore does. */
class FailingKeyStore : KeyStore {
    override fun load(name: String): ByteArray? = null
    override fun save(name: String, value: ByteArray): Unit = throw IOException("the disk is full")
    override fun delete(name: String) {}
    override fun names(): List<String> = emptyList()
}

/** The organisation's portal backend, calling the gateway's HTTP API with its token. */
class Portal(private val base: String, private val token: String) {
    private val http = HttpClient.newHttpClient()

    fun call(method: String, path: String, body: Any? = null): Any? {
        val publisher = if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(toJson(body))
        val request = HttpRequest.newBuilder(URI.create(base + path))
            .method(method, publisher)
            .header("Authorization", "Bearer $token")
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(30))
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() in 200..299) { "$method $path answered ${response.statusCode()}: ${response.body()}" }
        return if (response.body().isEmpty()) null else parseJson(response.body())
    }

    fun pairing(subject: String): Any? = call("POST", "/v1/pairings", mapOf("subject_ref" to subject))

    fun confirm(pairing: Any?, code: String): Any? = call("POST", "/v1/pairings/${pairing.text("pairing_id")}/confirm", mapOf("code" to code))
}

fun main(args: Array<String>) {
    val binary = Path.of(args[0]).toAbsolutePath().toString()
    val workdir = Files.createTempDirectory("kotlin-wallet-flow")
    val framework = ProcessBuilder(binary, "demo", "--serve")
        .directory(workdir.toFile())
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .also { it.environment().apply { clear(); put("PATH", "/usr/bin:/bin") } }
        .start()
    try {
        val line = framework.inputStream.bufferedReader().readLine() ?: error("the demo framework did not start")
        runBlocking { flow(parseJson(line), binary, workdir) }
    } catch (e: Throwable) {
        check("the flow ran to its end", false, e.stackTraceToString())
    } finally {
        framework.destroy()
        framework.waitFor(10, TimeUnit.SECONDS)
    }
    println("kotlin: $passed passed, $failed failed")
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}

suspend fun flow(framework: Any?, binary: String, workdir: Path) = coroutineScope {
    val holder = framework.at("organisations", 0)
    val receiver = framework.at("organisations", 1)
    val portal = Portal(holder.text("url"), holder.text("portal_token"))

    val failing = Wallet(FailingKeyStore())
    try {
        failing.connect(portal.pairing("carol").text("connect_uri"))
        check("a key store's IOException arrives as WalletException.Storage", false, "connected")
    } catch (e: WalletException.Storage) {
        check("a key store's IOException arrives as WalletException.Storage", e.detail.contains("the disk is full") && e.errorCode() == "storage", e)
    }
    failing.close()

    val store = MemoryKeyStore()
    val wallet = Wallet(store)
    val pairing = portal.pairing("alice")
    val pending = wallet.connect(pairing.text("connect_uri"))
    val id = pending.connectionId
    check("connect shows a 6-digit code", Regex("\\d{6}").matches(pending.code), pending.code)
    check("the Kotlin key store holds the connection's keys", store.names() == listOf(id), store.names())

    // The person leaves the screen before typing the code: the wait is cancelled, as
    // leaving a screen cancels its coroutine scope. The wallet must stay usable.
    val waiting = async { wallet.waitConnected(id, WAIT) }
    delay(300)
    waiting.cancel()
    check("a cancelled wait is cancelled", runCatching { waiting.await() }.exceptionOrNull() is kotlinx.coroutines.CancellationException)
    expectThrows<WalletException.NotConfirmed>("an export before the code is typed is NotConfirmed", {
        wallet.requestExport(id, ExportPurpose.ACCESS, null, WAIT)
    }) { it.errorCode() == "not_confirmed" }
    check("the portal confirms the code", portal.confirm(pairing, pending.code).text("state") == "connected")
    wallet.waitConnected(id, WAIT)
    val connection = wallet.connections().single()
    check("after the cancelled call the wallet still connects", connection.state == ConnectionState.CONNECTED, connection)
    val age = Duration.between(connection.createdAt, Instant.now())
    check("times arrive as java.time.Instant", !age.isNegative && age < Duration.ofMinutes(10), connection.createdAt)

    val catalogue = wallet.catalogue(id, WAIT)
    check("the catalogue names the organisation's categories and why", catalogue.controllerId == holder.text("id") &&
        catalogue.categories.any { it.id == "medical_priority" && it.specialCategory && it.legalBasis.contains("consent") }, catalogue)

    // An export abandoned mid-way (the person pressed back): the next one still works, and
    // a late answer to the abandoned one is only reported by events().
    val abandoned = async { wallet.requestExport(id, ExportPurpose.ACCESS, null, WAIT) }
    delay(20)
    abandoned.cancel()
    val bundle = wallet.requestExport(id, ExportPurpose.ACCESS, null, WAIT)
    check("the compact JWS comes from the organisation", bundle.issuer == pending.controllerId && bundle.subject == "alice" &&
        bundle.token.split('.').size == 3 && "contact" in bundle.categories, bundle.categories)
    check("the wallet verifies it again", wallet.verify(id, bundle.token).bundleId == bundle.bundleId)

    val zip = workdir.resolve("alice.zip")
    val pack = wallet.downloadPackage(id, ExportPurpose.PORTABILITY, null, zip.toString(), WAIT)
    val names = ZipFile(pack.path).use { archive -> archive.entries().toList().map { it.name } }
    check("the zip package lands in the file, verified", pack.subject == "alice" && "signature.jwt" in names && "bagit.txt" in names, names)
    val verifier = ProcessBuilder(binary, "verify", pack.path, "--jwks", "${holder.text("url")}/.well-known/jwks.json")
        .redirectErrorStream(true).start()
    val verifierSays = verifier.inputStream.bufferedReader().readText()
    check("the gateway's own verifier accepts the package", verifier.waitFor() == 0, verifierSays)
    check("the wallet verifies the kept package again", wallet.verifyPackage(id, pack.path).bundleId == pack.bundleId)
    val damaged = workdir.resolve("damaged.zip")
    Files.write(damaged, Files.readAllBytes(zip).also { it[it.size / 2] = (it[it.size / 2].toInt() xor 1).toByte() })
    expectThrows<WalletException.BadBundle>("a damaged package is refused as BadBundle", {
        wallet.verifyPackage(id, damaged.toString())
    }) { it.errorCode() == "bad_bundle" }

    val tampered = bundle.token.dropLast(4) + if (bundle.token.endsWith("AAAA")) "BBBB" else "AAAA"
    expectThrows<WalletException.BadBundle>("a tampered bundle is refused as BadBundle", { wallet.verify(id, tampered) }) {
        it.errorCode() == "bad_bundle" && it.toString().startsWith("the bundle does not verify")
    }
    expectThrows<WalletException.Refused>("an unknown category is Refused with the organisation's code", {
        wallet.requestExport(id, ExportPurpose.ACCESS, listOf("nope"), WAIT)
    }) { it.code == "category_not_found" && it.errorCode() == "category_not_found" }

    val form = RequestForm(kind = RequestKind.ERASURE, categories = listOf("contact"), details = "please erase my contact details", proposedJson = null)
    val filed = wallet.submitRequest(id, form, WAIT)
    check("a rights request is acknowledged with its number and due time", Regex("\\d{4}-\\d{6}").matches(filed.number) &&
        filed.update == RequestUpdate.ACKNOWLEDGED && filed.dueAt.isAfter(filed.receivedAt) && filed.contact == catalogue.dpoContact, filed)

    expectThrows<WalletException.UnknownController>("an organisation outside the trust list is UnknownController", {
        wallet.forward(bundle.token, "https://nobody.example", WAIT)
    }) { it.controllerId == "https://nobody.example" }
    val receipt = wallet.forward(bundle.token, receiver.text("id"), WAIT)
    check("the second organisation acknowledges the import", receipt.controllerId == receiver.text("id"), receipt)
    val imports = Portal(receiver.text("url"), receiver.text("portal_token")).call("GET", "/v1/imports").at("imports") as List<*>
    check("its portal lists the import", imports.map { it.text("import_id") } == listOf(receipt.importId), imports)

    val events = wallet.events()
    check("nothing the relay delivered was refused", events.none { it.kind == EventKind.REFUSED }, events)

    reopened(Portal(holder.text("url"), holder.text("portal_token")), workdir.resolve("wallet-keys"))

    wallet.revoke(id)
    expectThrows<WalletException.Revoked>("a revoked connection can do nothing", {
        wallet.requestExport(id, ExportPurpose.ACCESS, null, WAIT)
    }) { it.errorCode() == "revoked" }
    var state: String? = null
    for (attempt in 1..100) {
        state = portal.call("GET", "/v1/subjects/alice/connections").text("connections", 0, "state")
        if (state == "revoked") break
        delay(50)
    }
    check("the organisation learns of the revocation", state == "revoked", state)
    wallet.close()
}

/** A wallet over files, paired by the README's example, closed and opened again as after an
 * app restart: still connected. */
suspend fun reopened(portal: Portal, dir: Path) {
    val first = Wallet(DirectoryKeyStore(dir))
    val pairing = portal.pairing("bob")
    // The README's example, as an app runs it: the code is shown, the person types it in.
    val shown = scanPairDownload(first, pairing.text("connect_uri")) { code -> portal.confirm(pairing, code) }
    check("the README's scan, pair, download example runs", shown.subject == "bob" && shown.token.isNotEmpty(), shown)
    val connectionId = first.connections().single().connectionId
    first.close()
    val mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(connectionId)))
    check("the file store keeps the keys owner-only", mode == "rw-------", mode)

    val again = Wallet(DirectoryKeyStore(dir))
    val connections = again.connections()
    check("a reopened wallet still holds the connection", connections.map { it.connectionId to it.state } ==
        listOf(connectionId to ConnectionState.CONNECTED), connections)
    val bundle = again.requestExport(connectionId, ExportPurpose.ACCESS, listOf("contact"), WAIT)
    check("and downloads with it", bundle.subject == "bob" && bundle.categories == listOf("contact"), bundle.categories)
    again.close()
}
