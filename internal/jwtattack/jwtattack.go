// Package jwtattack builds the known attacks on JWT verifiers as concrete
// tokens against one real latch key, so the same table can be thrown at
// token.Verifier, latch.Service.Authenticate and the HTTP server. Where an
// attack needs a valid signature to get past the signature check (duplicate
// claims, dates as strings, a wrong audience), the token is signed with the
// real key: the test then proves that the claim check refuses it, not the
// signature.
//
// Sources: RFC 8725 (JWT BCP), RFC 7515/7519/8037/9068, the "alg: none" and
// algorithm-confusion advisories (CVE-2015-9235, CVE-2016-10555,
// CVE-2022-21449), and the JOSE header members of the IANA registry.
package jwtattack

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"

	"github.com/latchauth/latch/token"
)

// Case is one hostile token and the error token.Verifier must return.
type Case struct {
	Name  string
	Token string
	Want  error
	// Signed is set when the token carries a genuine signature by the real
	// key, so only the checks after the signature can refuse it.
	Signed bool
}

// Gen makes tokens that look like ones the real key would sign for Claims.
type Gen struct {
	Key    *token.Key
	Claims token.Claims
}

// member is one JSON object member, its value already encoded.
type member struct{ k, v string }

type object []member

func (o object) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.k)
		b.WriteByte(':')
		b.WriteString(m.v)
	}
	b.WriteByte('}')
	return b.String()
}

// set replaces the value of member k (by its encoded name), or appends it.
func (o object) set(k, v string) object {
	out := append(object(nil), o...)
	for i := range out {
		if out[i].k == q(k) {
			out[i].v = v
			return out
		}
	}
	return append(out, member{q(k), v})
}

// del drops member k.
func (o object) del(k string) object {
	var out object
	for _, m := range o {
		if m.k != q(k) {
			out = append(out, m)
		}
	}
	return out
}

// add appends a member under a raw (already encoded) name, duplicates allowed.
func (o object) add(rawName, v string) object {
	return append(append(object(nil), o...), member{rawName, v})
}

// q encodes s as a JSON string.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// Header returns the header latch mints.
func (g *Gen) Header() object {
	return object{{q("alg"), q(token.Algorithm)}, {q("typ"), q(token.Type)}, {q("kid"), q(g.Key.ID)}}
}

// Payload returns the claims latch mints.
func (g *Gen) Payload() object {
	c := g.Claims
	return object{
		{q("iss"), q(c.Issuer)}, {q("aud"), q(c.Audience)}, {q("sub"), q(c.Subject)}, {q("sid"), q(c.SessionID)},
		{q("jti"), q(c.ID)}, {q("gen"), strconv.FormatUint(c.Generation, 10)},
		{q("iat"), strconv.FormatInt(c.IssuedAt.Unix(), 10)}, {q("exp"), strconv.FormatInt(c.ExpiresAt.Unix(), 10)},
	}
}

// Sign returns header.payload.signature with the real key.
func (g *Gen) Sign(h, p string) string {
	in := b64(h) + "." + b64(p)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(g.Key.Private(), []byte(in)))
}

// Valid is what latch itself would mint for Claims.
func (g *Gen) Valid() string { return g.Sign(g.Header().String(), g.Payload().String()) }

func withSig(h, p string, sig []byte) string {
	return b64(h) + "." + b64(p) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Cases returns every attack. other is a second, valid token for the same
// key (its signature is transplanted).
func (g *Gen) Cases(other string) []Case {
	var cs []Case
	add := func(name, tok string, want error) { cs = append(cs, Case{Name: name, Token: tok, Want: want}) }
	signedRaw := func(name, h, p string, want error) {
		cs = append(cs, Case{Name: name, Token: g.Sign(h, p), Want: want, Signed: true})
	}
	signed := func(name string, h, p object, want error) { signedRaw(name, h.String(), p.String(), want) }
	H, P := g.Header(), g.Payload()
	hs, ps := H.String(), P.String()
	valid := g.Valid()
	in := b64(hs) + "." + b64(ps)
	realSig, _ := base64.RawURLEncoding.DecodeString(valid[strings.LastIndexByte(valid, '.')+1:])
	pub := g.Key.Public()

	// alg "none" and its spellings, unsigned and with the real signature.
	for _, alg := range []string{"none", "None", "NONE", "nOnE", "none ", " none", "none\u0000", ""} {
		h := H.set("alg", q(alg)).String()
		add("alg "+strconv.Quote(alg)+" no signature", b64(h)+"."+b64(ps)+".", token.ErrMalformed)
		add("alg "+strconv.Quote(alg)+" junk signature", withSig(h, ps, []byte("x")), token.ErrHeader)
		signed("alg "+strconv.Quote(alg)+" real signature", H.set("alg", q(alg)), P, token.ErrHeader)
	}
	signed("alg missing", H.del("alg"), P, token.ErrHeader)
	signed("alg null", H.set("alg", "null"), P, token.ErrHeader)
	signed("alg array", H.set("alg", `["EdDSA"]`), P, token.ErrHeader)

	// Algorithm confusion: HMAC keyed with the public key in every form a
	// confused verifier might use.
	jwk := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		h := H.set("alg", q(alg)).String()
		hin := b64(h) + "." + b64(ps)
		for name, secret := range map[string][]byte{"raw public key": pub, "JWK": []byte(jwk), "base64 x": []byte(base64.RawURLEncoding.EncodeToString(pub))} {
			m := hmac.New(sha256.New, secret)
			if alg != "HS256" {
				m = hmac.New(sha512.New, secret)
			}
			m.Write([]byte(hin))
			add(alg+" keyed with "+name, hin+"."+base64.RawURLEncoding.EncodeToString(m.Sum(nil)), token.ErrHeader)
		}
	}
	for _, alg := range []string{"RS256", "PS256", "ES256", "ES256K", "ES512", "Ed25519", "Ed448", "ED25519", "eddsa", "EDDSA", "EdDSA ", "EdDSA\u0000", "RSA-OAEP", "dir"} {
		signed("alg "+strconv.Quote(alg), H.set("alg", q(alg)), P, token.ErrHeader)
	}

	// Signatures: empty, truncated, extended, transplanted, zero, foreign key.
	add("empty signature", in+".", token.ErrMalformed)
	add("truncated signature", valid[:len(valid)-2], token.ErrSignature)
	add("signature cut to 63 bytes", in+"."+base64.RawURLEncoding.EncodeToString(realSig[:63]), token.ErrSignature)
	add("signature extended to 65 bytes", in+"."+base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), realSig...), 0)), token.ErrSignature)
	add("signature doubled", in+"."+base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), realSig...), realSig...)), token.ErrSignature)
	add("transplanted signature", in+other[strings.LastIndexByte(other, '.'):], token.ErrSignature)
	add("all-zero signature", in+"."+base64.RawURLEncoding.EncodeToString(make([]byte, 64)), token.ErrSignature)
	flipped := append([]byte(nil), realSig...)
	flipped[10] ^= 1
	add("one bit flipped in signature", in+"."+base64.RawURLEncoding.EncodeToString(flipped), token.ErrSignature)
	_, foreign, _ := ed25519.GenerateKey(zeroReader{})
	add("signed by another key under latch's kid", in+"."+base64.RawURLEncoding.EncodeToString(ed25519.Sign(foreign, []byte(in))), token.ErrSignature)
	add("payload swapped after signing", b64(hs)+"."+b64(P.set("gen", "99").String())+"."+base64.RawURLEncoding.EncodeToString(realSig), token.ErrSignature)

	// Non-canonical Ed25519 signatures (RFC 8032 §5.1.7: S must be < L).
	sPlusL := append([]byte(nil), realSig...)
	copy(sPlusL[32:], leBytes(new(big.Int).Add(leInt(realSig[32:]), curveL)))
	add("S+L (S not reduced)", in+"."+base64.RawURLEncoding.EncodeToString(sPlusL), token.ErrSignature)
	sMax := append(append([]byte(nil), realSig[:32]...), bytesOf(0xff, 32)...)
	add("S all ones", in+"."+base64.RawURLEncoding.EncodeToString(sMax), token.ErrSignature)
	// R = the identity point, made by the real key so it is a genuine
	// signature; its canonical encoding must verify and every
	// non-canonical encoding of the same point must not.
	for name, r := range map[string][]byte{
		"non-canonical R (y = 1 + p)":    leBytes(new(big.Int).Add(big.NewInt(1), curveP)),
		"non-canonical R (x sign bit 1)": func() []byte { b := leBytes(big.NewInt(1)); b[31] |= 0x80; return b }(),
	} {
		add(name, in+"."+base64.RawURLEncoding.EncodeToString(g.identityRSig(in, r)), token.ErrSignature)
	}

	// Non-canonical base64url.
	segs := strings.Split(valid, ".")
	pad := func(s string) string { return s + strings.Repeat("=", (4-len(s)%4)%4) }
	add("padded header", pad(segs[0])+"."+segs[1]+"."+segs[2], token.ErrMalformed)
	add("padded payload", segs[0]+"."+pad(segs[1])+"."+segs[2], token.ErrMalformed)
	add("padded signature", segs[0]+"."+segs[1]+"."+pad(segs[2]), token.ErrMalformed)
	std := strings.NewReplacer("-", "+", "_", "/")
	add("standard alphabet (+/)", std.Replace(valid)+map[bool]string{true: "", false: "+"}[std.Replace(valid) != valid], token.ErrMalformed)
	add("signature trailing bits set", segs[0]+"."+segs[1]+"."+setTrailingBits(segs[2]), token.ErrSignature)
	if tb := setTrailingBits(segs[1]); tb != segs[1] {
		add("payload trailing bits set", segs[0]+"."+tb+"."+segs[2], token.ErrSignature)
	}
	for extra := ""; ; extra += " " { // find a header length with unused bits
		h := hs[:len(hs)-1] + extra + "}"
		if e := b64(h); setTrailingBits(e) != e {
			signedRaw("header (signed) with trailing bits set", h, ps, token.ErrMalformed)
			last := &cs[len(cs)-1]
			hdr, rest, _ := strings.Cut(last.Token, ".")
			last.Token, last.Signed = setTrailingBits(hdr)+"."+rest, false
			break
		}
	}
	for _, ws := range []string{" ", "\t", "\n", "\r\n", "\u00a0"} {
		add("whitespace "+strconv.Quote(ws)+" inside signature", segs[0]+"."+segs[1]+"."+segs[2][:20]+ws+segs[2][20:], token.ErrMalformed)
		add("whitespace "+strconv.Quote(ws)+" before token", ws+valid, token.ErrMalformed)
		add("whitespace "+strconv.Quote(ws)+" after token", valid+ws, token.ErrMalformed)
		add("whitespace "+strconv.Quote(ws)+" around a dot", segs[0]+ws+"."+segs[1]+"."+segs[2], token.ErrMalformed)
	}
	add("header with base64 line break", segs[0][:10]+"\n"+segs[0][10:]+"."+segs[1]+"."+segs[2], token.ErrMalformed)

	// Keys named or embedded by the token: with the attacker's key, and
	// even with latch's real key and signature.
	fjwk := `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(foreign.Public().(ed25519.PublicKey)) + `"}`
	for _, m := range []member{
		{"jwk", fjwk}, {"jku", q("https://attacker.example/jwks.json")}, {"x5u", q("https://attacker.example/cert.pem")},
		{"x5c", `["MIIBszCCAVmgAwIBAgIUK"]`}, {"x5t", q("AAAA")}, {"x5t#S256", q("AAAA")},
	} {
		h := H.set(m.k, m.v)
		add("embedded "+m.k+" signed by the attacker", b64(h.String())+"."+b64(ps)+"."+base64.RawURLEncoding.EncodeToString(ed25519.Sign(foreign, []byte(b64(h.String())+"."+b64(ps)))), token.ErrHeader)
		signed("embedded "+m.k+" with the real signature", h, P, token.ErrHeader)
	}
	signed("jwk without kid", H.del("kid").set("jwk", fjwk), P, token.ErrHeader)

	// kid: traversal, injection, control characters, unknown, wrong type.
	for _, kid := range []string{"../../../../dev/null", "/etc/passwd", `..\..\windows\win.ini`, "' OR '1'='1", `x"; DROP TABLE signing_keys; --`,
		"kid\u0000", "\u0000", "\n", "\r\nX-Injected: 1", "\u202e", "*", "%", g.Key.ID + " ", strings.ToUpper(g.Key.ID), g.Key.ID[:42],
		token.Thumbprint(foreign.Public().(ed25519.PublicKey)), "http://attacker.example/key"} {
		signed("kid "+strconv.QuoteToASCII(kid), H.set("kid", q(kid)), P, token.ErrUnknownKey)
	}
	signed("kid empty", H.set("kid", q("")), P, token.ErrHeader)
	signed("kid missing", H.del("kid"), P, token.ErrHeader)
	signed("kid too long", H.set("kid", q(strings.Repeat("a", 129))), P, token.ErrHeader)
	signed("kid number", H.set("kid", "1"), P, token.ErrHeader)
	signed("kid null", H.set("kid", "null"), P, token.ErrHeader)
	signed("kid object", H.set("kid", `{"$ne":""}`), P, token.ErrHeader)

	// Header members latch does not understand, each with the real signature.
	for _, m := range []member{
		{"crit", `["exp"]`}, {"crit", `["b64"]`}, {"crit", `[]`}, {"b64", "false"}, {"zip", q("DEF")},
		{"enc", q("A256GCM")}, {"p2s", q("c2FsdA")}, {"p2c", "2147483647"}, {"cty", q("JWT")}, {"epk", `{}`},
		{"iv", q("AAAA")}, {"tag", q("AAAA")}, {"url", q("https://x")}, {"nonce", q("n")}, {"svt", `[]`}, {"x", "1"},
	} {
		signed("header member "+m.k+"="+m.v, H.set(m.k, m.v), P, token.ErrHeader)
	}
	signed("PBES2 header", H.set("alg", q("PBES2-HS256+A128KW")).set("p2s", q("c2FsdA")).set("p2c", "100000000"), P, token.ErrHeader)

	// JWE, JSON serializations, and wrong part counts.
	add("JWE (5 parts)", b64(`{"alg":"dir","enc":"A256GCM","kid":"`+g.Key.ID+`"}`)+"..AAAAAAAAAAAAAAAA."+b64(ps)+".AAAAAAAAAAAAAAAAAAAAAA", token.ErrMalformed)
	add("JWE with latch header (5 parts)", segs[0]+"."+segs[1]+"."+segs[2]+".AAAA.AAAA", token.ErrMalformed)
	add("general JSON JWS", `{"payload":"`+segs[1]+`","signatures":[{"protected":"`+segs[0]+`","signature":"`+segs[2]+`"}]}`, token.ErrMalformed)
	add("flattened JSON JWS", `{"payload":"`+segs[1]+`","protected":"`+segs[0]+`","signature":"`+segs[2]+`"}`, token.ErrMalformed)
	add("empty", "", token.ErrMalformed)
	add("one part", segs[0], token.ErrMalformed)
	add("two parts", segs[0]+"."+segs[1], token.ErrMalformed)
	add("two parts with dot", segs[0]+"."+segs[1]+".", token.ErrMalformed)
	add("four parts", valid+"."+segs[2], token.ErrMalformed)
	add("four parts empty tail", valid+".", token.ErrMalformed)
	add("dots only", "..", token.ErrMalformed)
	add("empty header", "."+segs[1]+"."+segs[2], token.ErrMalformed)
	add("empty payload (detached)", segs[0]+".."+segs[2], token.ErrMalformed)

	// Duplicate members, exact and as encoding/json would fold them.
	signed("duplicate alg, none last", H.add(q("alg"), q("none")), P, token.ErrHeader)
	signed("duplicate alg, none first", object{{q("alg"), q("none")}}.add(q("alg"), q("EdDSA")).add(q("typ"), q(token.Type)).add(q("kid"), q(g.Key.ID)), P, token.ErrHeader)
	signed("duplicate kid", H.add(q("kid"), q("other")), P, token.ErrHeader)
	signed("duplicate kid by case (KID)", H.add(q("KID"), q("other")), P, token.ErrHeader)
	signed("duplicate kid by Kelvin sign", H.add(`"\u212Aid"`, q("other")), P, token.ErrHeader)
	signed("duplicate typ by case", H.add(q("TYP"), q("JWT")), P, token.ErrHeader)
	signed("ALG instead of alg", H.del("alg").add(q("ALG"), q("EdDSA")), P, token.ErrHeader)
	signed("Kid instead of kid", H.del("kid").add(q("Kid"), q(g.Key.ID)), P, token.ErrHeader)
	signed("duplicate header member via escape", H.add(`"\u0061lg"`, q("EdDSA")), P, token.ErrHeader)
	for _, name := range []string{"sub", "sid", "gen", "exp", "aud", "iss", "jti", "iat"} {
		signed("duplicate claim "+name, H, P.add(q(name), P.get(name)), token.ErrClaims)
		signed("duplicate claim "+name+" by case", H, P.add(q(strings.ToUpper(name)), P.get(name)), token.ErrClaims)
	}
	signed("duplicate sub with another user", H, P.add(q("sub"), q("00000000-0000-4000-8000-000000000000")), token.ErrClaims)
	signed("duplicate sub by long s", H, P.add(`"\u017Fub"`, q("00000000-0000-4000-8000-000000000000")), token.ErrClaims)
	signed("SUB instead of sub", H, P.del("sub").add(q("SUB"), P.get("sub")), token.ErrClaims)
	signed("Exp instead of exp", H, P.del("exp").add(q("Exp"), P.get("exp")), token.ErrClaims)

	// Dates latch never writes.
	exp := g.Claims.ExpiresAt.Unix()
	for _, v := range []string{
		q(strconv.FormatInt(exp, 10)), strconv.FormatInt(exp, 10) + ".0", strconv.FormatInt(exp, 10) + ".5", "1.7963009e9", "1e19", "-1",
		"-" + strconv.FormatInt(exp, 10), "99999999999999999999", "253402300800", "18446744073709551616", "0" + strconv.FormatInt(exp, 10),
		"null", "true", "[]", "{}", `"` + g.Claims.ExpiresAt.Format("2006-01-02T15:04:05Z") + `"`,
	} {
		signed("exp "+v, H, P.set("exp", v), token.ErrClaims)
		signed("iat "+v, H, P.set("iat", v), token.ErrClaims)
	}
	signed("nbf as string", H, P.set("nbf", q("0")), token.ErrClaims)
	signed("exp before iat", H, P.set("exp", strconv.FormatInt(g.Claims.IssuedAt.Unix()-1, 10)), token.ErrClaims)
	signed("exp equals iat", H, P.set("exp", strconv.FormatInt(g.Claims.IssuedAt.Unix(), 10)), token.ErrClaims)
	signed("expired", H, P.set("exp", strconv.FormatInt(g.Claims.IssuedAt.Unix()-3600, 10)).set("iat", strconv.FormatInt(g.Claims.IssuedAt.Unix()-7200, 10)), token.ErrExpired)
	expiredBad := g.Sign(H.String(), P.set("exp", strconv.FormatInt(g.Claims.IssuedAt.Unix()-3600, 10)).set("iat", strconv.FormatInt(g.Claims.IssuedAt.Unix()-7200, 10)).String())
	add("expired with bad signature", expiredBad[:len(expiredBad)-4]+"AAAA", token.ErrSignature)
	add("expired with no signature", expiredBad[:strings.LastIndexByte(expiredBad, '.')+1], token.ErrMalformed)
	signed("issued in the future", H, P.set("iat", strconv.FormatInt(g.Claims.IssuedAt.Unix()+3600, 10)).set("exp", strconv.FormatInt(exp+3600, 10)), token.ErrNotYetValid)
	signed("not before in the future", H, P.set("nbf", strconv.FormatInt(g.Claims.IssuedAt.Unix()+3600, 10)), token.ErrNotYetValid)

	// Missing and malformed claims.
	for _, name := range []string{"iss", "aud", "sub", "sid", "jti", "gen", "iat", "exp"} {
		signed("missing "+name, H, P.del(name), token.ErrClaims)
		signed(name+" set to null", H, P.set(name, "null"), token.ErrClaims)
	}
	signed("empty payload object", H, object{}, token.ErrClaims)
	for _, v := range []string{q("3"), "-1", "3.0", "1e2", "18446744073709551616", "9223372036854775808"} {
		signed("gen "+v, H, P.set("gen", v), token.ErrClaims)
	}
	for _, v := range []string{strings.ToUpper(g.Claims.Subject), "{" + g.Claims.Subject + "}", "urn:uuid:" + g.Claims.Subject, strings.ReplaceAll(g.Claims.Subject, "-", ""), "1", "admin"} {
		signed("sub "+v, H, P.set("sub", q(v)), token.ErrClaims)
		signed("sid "+v, H, P.set("sid", q(v)), token.ErrClaims)
	}

	// Issuer and audience: arrays, substrings, case, lookalikes.
	iss, aud := g.Claims.Issuer, g.Claims.Audience
	for _, v := range []string{"[" + q(aud) + "]", "[" + q(aud) + "," + q("https://other.example") + "]", "[]", q(aud[:len(aud)-1]), q(aud + ".evil.example"), q(aud + "/"),
		q(strings.ToUpper(aud)), q(" " + aud), q(aud + "\u0000"), q("https://other.example"), q("")} {
		signed("aud "+v, H, P.set("aud", v), token.ErrClaims)
		signed("iss "+strings.ReplaceAll(v, aud, iss), H, P.set("iss", strings.ReplaceAll(v, aud, iss)), token.ErrClaims)
	}

	// typ confusion: tokens of another kind signed by the same key.
	for _, typ := range []string{"JWT", "jwt", "", "id_token+jwt", "dpop+jwt", "at+JWT+x", "secevent+jwt", "application/jwt", "at+jwt ", "at+jwt\u0000"} {
		signed("typ "+strconv.Quote(typ), H.set("typ", q(typ)), P, token.ErrHeader)
	}
	signed("typ missing", H.del("typ"), P, token.ErrHeader)
	signed("ID-token-like (typ JWT, nonce, client audience)", H.set("typ", q("JWT")), P.set("aud", q("my-client")).set("nonce", q("n")), token.ErrHeader)
	signed("ID-token-like claims under at+jwt", H, P.set("aud", q("my-client")).set("nonce", q("n")).del("sid").del("gen"), token.ErrClaims)

	// Size and nesting.
	add("over the size cap", in+"."+strings.Repeat("A", token.MaxTokenBytes), token.ErrTooLarge)
	add("size cap plus one", strings.Repeat("a", token.MaxTokenBytes+1), token.ErrTooLarge)
	bigHeader := H.set("x", q(strings.Repeat("x", 5000))).String()
	add("big header, unsigned", b64(bigHeader)+"."+b64(ps)+"."+segs[2], token.ErrHeader)
	deep := strings.Repeat(`{"a":`, 400) + "1" + strings.Repeat("}", 400)
	add("deeply nested header", b64(deep)+"."+b64(ps)+"."+segs[2], token.ErrHeader)
	deepArr := strings.Repeat("[", 2000) + strings.Repeat("]", 2000)
	add("deeply nested payload, unsigned", segs[0]+"."+b64(P.set("x", deepArr).String())+"."+segs[2], token.ErrSignature)
	signed("deeply nested payload, signed", H, P.set("x", strings.Repeat("[", 1000)+strings.Repeat("]", 1000)), token.ErrClaims)
	signed("nested claim value", H, P.set("sub", `{"id":`+q(g.Claims.Subject)+`}`), token.ErrClaims)
	signedRaw("payload is an array", hs, `[`+ps+`]`, token.ErrClaims)
	signedRaw("payload has trailing data", hs, ps+`{}`, token.ErrClaims)
	signedRaw("payload is not JSON", hs, `not json`, token.ErrClaims)
	signedRaw("payload is empty", hs, ``, token.ErrMalformed)

	// Bytes that are not text.
	add("NUL in token", segs[0]+"\x00."+segs[1]+"."+segs[2], token.ErrMalformed)
	add("NUL at end", valid+"\x00", token.ErrMalformed)
	add("non-UTF-8 byte in token", segs[0]+"\xff."+segs[1]+"."+segs[2], token.ErrMalformed)
	add("non-ASCII letters in token", "é"+valid, token.ErrMalformed)
	add("header not UTF-8", b64(`{"alg":"EdDSA","typ":"at+jwt","kid":"`+g.Key.ID+"\xff"+`"}`)+"."+segs[1]+"."+segs[2], token.ErrMalformed)
	add("header with raw NUL", b64(`{"alg":"EdDSA","typ":"at+jwt","kid":"`+g.Key.ID+"\x00"+`"}`)+"."+segs[1]+"."+segs[2], token.ErrHeader)
	add("header with BOM", b64("\ufeff"+hs)+"."+segs[1]+"."+segs[2], token.ErrHeader)
	signedRaw("payload not UTF-8", hs, strings.Replace(ps, `"iss":"`, "\"iss\":\"\xff", 1), token.ErrMalformed)
	signed("claim with escaped NUL", H, P.set("iss", q(iss+"\u0000")), token.ErrClaims)
	add("header is not JSON", b64("EdDSA")+"."+segs[1]+"."+segs[2], token.ErrHeader)
	add("header is an array", b64("["+hs+"]")+"."+segs[1]+"."+segs[2], token.ErrHeader)

	// A refresh token where an access token belongs.
	add("refresh-token-shaped", "latch_rt_"+strings.Repeat("A", 85), token.ErrMalformed)
	return cs
}

// get returns the encoded value of member k.
func (o object) get(k string) string {
	for _, m := range o {
		if m.k == q(k) {
			return m.v
		}
	}
	return ""
}

// setTrailingBits sets the unused low bits of the last base64url character,
// which a lax decoder ignores: the same bytes with a second spelling.
func setTrailingBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var unused int
	switch len(s) % 4 {
	case 2:
		unused = 4
	case 3:
		unused = 2
	default:
		return s
	}
	i := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[i|(1<<unused-1)])
}

// Curve25519 constants: the field prime p = 2^255-19 and the group order L.
var (
	curveP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	curveL = func() *big.Int {
		l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
		return l
	}()
)

// identityRSig signs in with the real key using the nonce r = 0, so R is the
// identity point, encoded as rEnc; S = H(rEnc || A || M)·a mod L. With the
// canonical encoding (y = 1) this is a valid signature; with any other
// encoding of the identity a strict verifier must refuse it.
func (g *Gen) identityRSig(msg string, rEnc []byte) []byte {
	h := sha512.Sum512(g.Key.Private().Seed())
	a := leInt(clamp(h[:32]))
	d := sha512.New()
	d.Write(rEnc)
	d.Write(g.Key.Public())
	d.Write([]byte(msg))
	k := new(big.Int).Mod(leInt(d.Sum(nil)), curveL)
	s := new(big.Int).Mod(new(big.Int).Mul(k, a), curveL)
	return append(append([]byte(nil), rEnc...), leBytes(s)...)
}

// IdentityRSig is identityRSig with the canonical encoding of the identity:
// a genuine signature, exported so tests can show the construction is right.
func (g *Gen) IdentityRSig(msg string) []byte { return g.identityRSig(msg, leBytes(big.NewInt(1))) }

func clamp(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[0] &= 248
	c[31] &= 127
	c[31] |= 64
	return c
}

func leInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

func leBytes(n *big.Int) []byte {
	be := n.FillBytes(make([]byte, 32))
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		be[i], be[j] = be[j], be[i]
	}
	return be
}

func bytesOf(b byte, n int) []byte { return []byte(strings.Repeat(string([]byte{b}), n)) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 7
	}
	return len(p), nil
}

// WithHeader returns a token signed with the real key whose header has
// member name set to value (raw JSON).
func (g *Gen) WithHeader(name, value string) string {
	return g.Sign(g.Header().set(name, value).String(), g.Payload().String())
}

// Quote encodes s as a JSON string.
func Quote(s string) string { return q(s) }
