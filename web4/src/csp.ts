// The page's script policy, installed at boot with a nonce drawn fresh for this page load. A static
// policy cannot carry one, and the wallet connector (testnet/mainnet) runs each wallet in a sandboxed
// srcdoc iframe whose inline scripts inherit this policy: they run only with the nonce, which no
// model output or stored data can know. Everything model-supplied is still rendered as text only.

export function installCsp(doc: Document = document): string {
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(18))));
  const meta = doc.createElement("meta");
  meta.httpEquiv = "Content-Security-Policy";
  meta.content = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: https:",
    "connect-src 'self' http: https: ws: wss:",
    "frame-src 'self' https:",
    "object-src 'none'",
    "base-uri 'none'",
  ].join("; ");
  doc.head.prepend(meta);
  return nonce;
}
