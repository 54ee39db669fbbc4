// AWS Signature Version 4 with WebCrypto: how the dashboard calls the cloud's IAM-authorised HTTP API and
// opens its IAM-authorised WebSocket, with credentials the user gives (short-lived ones, preferably).
"use strict";

const sigv4 = (() => {
  const encoder = new TextEncoder();
  const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const sha256 = async (text) => hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  const hmac = async (key, text) => {
    const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return crypto.subtle.sign("HMAC", k, encoder.encode(text));
  };
  // RFC 3986: everything but unreserved characters is percent-encoded.
  const encode = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const amzDate = (now) => now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

  function canonicalQuery(params) {
    return [...params]
      .map(([k, v]) => [encode(k), encode(v)])
      .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join("&");
  }

  // Path segments are encoded again, as for every service but S3.
  const canonicalPath = (path) => path.split("/").map((s) => encode(decodeURIComponent(s))).map(encode).join("/") || "/";

  async function signature({ method, url, headers, params, payload, region, service, credentials, date }) {
    const scope = `${date.slice(0, 8)}/${region}/${service}/aws4_request`;
    const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v).trim()]));
    const canonical = [
      method,
      canonicalPath(url.pathname),
      canonicalQuery(params),
      names.map((n) => `${n}:${lower[n]}\n`).join(""),
      names.join(";"),
      await sha256(payload),
    ].join("\n");
    const toSign = ["AWS4-HMAC-SHA256", date, scope, await sha256(canonical)].join("\n");
    let key = encoder.encode(`AWS4${credentials.secretAccessKey}`);
    for (const part of [date.slice(0, 8), region, service, "aws4_request"]) key = await hmac(key, part);
    return { scope, signed: names.join(";"), signature: hex(await hmac(key, toSign)) };
  }

  // The headers that sign a request (host and x-amz-date, and the session token if any).
  async function headers({ method, url, body = "", region, service = "execute-api", credentials, now = new Date() }) {
    const u = new URL(url, location.href);
    const date = amzDate(now);
    const signedHeaders = { host: u.host, "x-amz-date": date };
    if (credentials.sessionToken) signedHeaders["x-amz-security-token"] = credentials.sessionToken;
    const s = await signature({ method, url: u, headers: signedHeaders, params: u.searchParams, payload: body, region, service, credentials, date });
    const result = { "x-amz-date": date };
    if (credentials.sessionToken) result["x-amz-security-token"] = credentials.sessionToken;
    result.authorization =
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${s.scope}, SignedHeaders=${s.signed}, Signature=${s.signature}`;
    return result;
  }

  // A URL that carries its own signature in the query: for the WebSocket's $connect.
  async function presign({ url, region, service = "execute-api", credentials, now = new Date(), expires = 300 }) {
    const u = new URL(url);
    const date = amzDate(now);
    const params = new URLSearchParams(u.search);
    params.set("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
    params.set("X-Amz-Credential", `${credentials.accessKeyId}/${date.slice(0, 8)}/${region}/${service}/aws4_request`);
    params.set("X-Amz-Date", date);
    params.set("X-Amz-Expires", String(expires));
    params.set("X-Amz-SignedHeaders", "host");
    if (credentials.sessionToken) params.set("X-Amz-Security-Token", credentials.sessionToken);
    const s = await signature({ method: "GET", url: u, headers: { host: u.host }, params, payload: "", region, service, credentials, date });
    u.search = `${canonicalQuery(params)}&X-Amz-Signature=${s.signature}`;
    return u.toString();
  }

  return { headers, presign };
})();
