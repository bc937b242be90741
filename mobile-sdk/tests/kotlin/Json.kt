// A small JSON reader for the test's calls to the portal API, so the test needs nothing
// beyond the JDK, the Kotlin standard library, coroutines and JNA.
package gdprwallet.test

/** Parses [text] into maps, lists, strings, numbers (as Double), booleans and null. */
fun parseJson(text: String): Any? {
    val reader = JsonReader(text)
    val value = reader.value()
    reader.skipSpace()
    require(reader.atEnd()) { "trailing text after JSON at ${reader.at}" }
    return value
}

/** The member at [path] of nested objects (string keys) and arrays (number keys). */
fun Any?.at(vararg path: Any): Any? = path.fold(this) { node, key ->
    when (key) {
        is String -> (node as Map<*, *>)[key]
        is Int -> (node as List<*>)[key]
        else -> error("a path is strings and ints")
    }
}

fun Any?.text(vararg path: Any): String = at(*path) as String

/** A JSON text of [value]: maps, lists, strings, numbers, booleans and null. */
fun toJson(value: Any?): String = when (value) {
    null -> "null"
    is String -> buildString {
        append('"')
        for (c in value) when {
            c == '"' -> append("\\\"")
            c == '\\' -> append("\\\\")
            c < ' ' -> append("\\u%04x".format(c.code))
            else -> append(c)
        }
        append('"')
    }
    is Map<*, *> -> value.entries.joinToString(",", "{", "}") { "${toJson(it.key as String)}:${toJson(it.value)}" }
    is List<*> -> value.joinToString(",", "[", "]") { toJson(it) }
    else -> value.toString()
}

private class JsonReader(val text: String) {
    var at = 0

    fun atEnd() = at == text.length

    fun skipSpace() {
        while (!atEnd() && text[at].isWhitespace()) at++
    }

    fun value(): Any? {
        skipSpace()
        require(!atEnd()) { "unexpected end of JSON" }
        return when (text[at]) {
            '{' -> obj()
            '[' -> array()
            '"' -> string()
            't' -> literal("true", true)
            'f' -> literal("false", false)
            'n' -> literal("null", null)
            else -> number()
        }
    }

    private fun literal(word: String, value: Any?): Any? {
        require(text.startsWith(word, at)) { "unexpected text at $at" }
        at += word.length
        return value
    }

    private fun expect(c: Char) {
        skipSpace()
        require(!atEnd() && text[at] == c) { "expected '$c' at $at" }
        at++
    }

    private fun obj(): Map<String, Any?> {
        val out = LinkedHashMap<String, Any?>()
        expect('{')
        skipSpace()
        if (text[at] == '}') { at++; return out }
        while (true) {
            skipSpace()
            val key = string()
            expect(':')
            out[key] = value()
            skipSpace()
            if (text[at++] == '}') return out
        }
    }

    private fun array(): List<Any?> {
        val out = ArrayList<Any?>()
        expect('[')
        skipSpace()
        if (text[at] == ']') { at++; return out }
        while (true) {
            out.add(value())
            skipSpace()
            if (text[at++] == ']') return out
        }
    }

    private fun string(): String {
        expect('"')
        val out = StringBuilder()
        while (true) {
            val c = text[at++]
            when (c) {
                '"' -> return out.toString()
                '\\' -> {
                    val e = text[at++]
                    when (e) {
                        'n' -> out.append('\n')
                        't' -> out.append('\t')
                        'r' -> out.append('\r')
                        'b' -> out.append('\b')
                        'f' -> out.append('\u000c')
                        'u' -> { out.append(text.substring(at, at + 4).toInt(16).toChar()); at += 4 }
                        else -> out.append(e)
                    }
                }
                else -> out.append(c)
            }
        }
    }

    private fun number(): Double {
        val start = at
        while (!atEnd() && (text[at].isDigit() || text[at] in "+-.eE")) at++
        return text.substring(start, at).toDouble()
    }
}
