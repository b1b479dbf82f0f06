-- wrk script for bench/run-daemon's ingest row: every request is a distinct, correctly signed
-- GitHub push, so baton's dedupe (delivery id and body digest) never answers `duplicate`.
--
--   wrk ... -s bench/signed-push.lua URL -- BODY_FILE SECRET
--
-- The body is BODY_FILE's JSON object with one more member, `"bench_nonce":"<16 digits>"`,
-- last. Its X-Hub-Signature-256 (HMAC-SHA256, RFC 2104) is computed here per request without
-- hashing the 8 KB again: the prefix before the nonce is padded with JSON whitespace to whole
-- 64-byte blocks, so the SHA-256 state after the key block and the prefix is computed once
-- per thread, and a request costs two compressions (the inner tail block, the outer block).
-- A wrong signature would answer 401 and a repeated body 200 `duplicate`: both are counted in
-- `not_202`, which run-daemon prints and requires to be 0 for baton.
local bit = require("bit")
local band, bxor, bnot, rshift, lshift, ror, tobit =
    bit.band, bit.bxor, bit.bnot, bit.rshift, bit.lshift, bit.ror, bit.tobit

local K = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local H0 = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }

-- One SHA-256 compression of the 64 bytes of `s` from `off` into the state `H`.
local function compress(H, s, off)
    local w = {}
    for i = 0, 15 do
        local a, b, c, d = s:byte(off + i * 4, off + i * 4 + 3)
        w[i] = tobit(lshift(a, 24) + lshift(b, 16) + lshift(c, 8) + d)
    end
    for i = 16, 63 do
        local x, y = w[i - 15], w[i - 2]
        local s0 = bxor(ror(x, 7), ror(x, 18), rshift(x, 3))
        local s1 = bxor(ror(y, 17), ror(y, 19), rshift(y, 10))
        w[i] = tobit(w[i - 16] + s0 + w[i - 7] + s1)
    end
    local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
    for i = 0, 63 do
        local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
        local ch = bxor(band(e, f), band(bnot(e), g))
        local t1 = tobit(h + S1 + ch + K[i + 1] + w[i])
        local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
        local maj = bxor(band(a, b), band(a, c), band(b, c))
        h, g, f, e = g, f, e, tobit(d + t1)
        d, c, b, a = c, b, a, tobit(t1 + S0 + maj)
    end
    return {
        tobit(H[1] + a), tobit(H[2] + b), tobit(H[3] + c), tobit(H[4] + d),
        tobit(H[5] + e), tobit(H[6] + f), tobit(H[7] + g), tobit(H[8] + h),
    }
end

-- `s` (whole 64-byte blocks) hashed on from state `H`.
local function blocks(H, s)
    for off = 1, #s, 64 do H = compress(H, s, off) end
    return H
end

local function be32(x)
    return string.char(band(rshift(x, 24), 255), band(rshift(x, 16), 255), band(rshift(x, 8), 255), band(x, 255))
end

-- The digest of a message of `total` bytes whose last, partial block is `tail`, from the
-- state `H` after the whole blocks before it.
local function finish(H, tail, total)
    local bits = total * 8
    local padded = tail .. "\128" .. string.rep("\0", (55 - #tail) % 64)
        .. be32(tobit(math.floor(bits / 2 ^ 32))) .. be32(tobit(bits % 2 ^ 32))
    H = blocks(H, padded)
    local out = {}
    for i = 1, 8 do out[i] = be32(H[i]) end
    return table.concat(out)
end

local threads = {}
local n = 0
function setup(thread)
    n = n + 1
    thread:set("tid", n)
    table.insert(threads, thread)
end

local prefix, inner, outer
local counter = 0
bad = 0

function init(args)
    local path, secret = args[1], args[2]
    assert(path and secret and #secret <= 64, "usage: -- BODY_FILE SECRET (at most 64 bytes)")
    local f = assert(io.open(path, "rb"))
    local body = f:read("*a"):gsub("%s+$", "")
    f:close()
    assert(body:sub(-1) == "}", path .. " is not a JSON object")
    prefix = body:sub(1, -2) .. ',"bench_nonce":'
    prefix = prefix .. string.rep(" ", (64 - #prefix % 64) % 64)
    local key = secret .. string.rep("\0", 64 - #secret)
    local ipad, opad = {}, {}
    for i = 1, 64 do
        ipad[i] = string.char(bxor(key:byte(i), 0x36))
        opad[i] = string.char(bxor(key:byte(i), 0x5c))
    end
    inner = blocks(blocks(H0, table.concat(ipad)), prefix)
    outer = blocks(H0, table.concat(opad))
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["X-GitHub-Event"] = "push"
end

function request()
    counter = counter + 1
    local tail = string.format('"%04d%012d"}', tid, counter)
    local mac = finish(outer, finish(inner, tail, 64 + #prefix + #tail), 64 + 32)
    local hex = mac:gsub(".", function(c) return string.format("%02x", c:byte()) end)
    wrk.headers["X-Hub-Signature-256"] = "sha256=" .. hex
    wrk.headers["X-GitHub-Delivery"] = string.format("bench-%d-%d", tid, counter)
    return wrk.format(nil, nil, nil, prefix .. tail)
end

function response(status, headers, body)
    if status ~= 202 then bad = bad + 1 end
end

function done(summary, latency, requests)
    local total = 0
    for _, t in ipairs(threads) do total = total + t:get("bad") end
    io.write(string.format("not_202 %d\n", total))
end
