// A minimal markdown renderer that is safe by construction: model output is parsed into a tree of a
// few allowed elements whose text is only ever assigned with textContent. Raw HTML in the input is
// never interpreted (it shows as text), so there are no scripts, handlers or styles to sanitise away;
// link targets are limited to http(s) and mailto. Unclosed constructs (mid-stream) render sensibly.
// Hand-written rather than a markdown library plus a sanitiser: those are 30-50 KB, and this bundle
// lives in contract storage (paid per byte); GFM tables and strikethrough are included.

export type BlockTag =
  | "p"
  | "h1"
  | "h2"
  | "h3"
  | "h4"
  | "h5"
  | "h6"
  | "pre"
  | "ul"
  | "ol"
  | "li"
  | "blockquote"
  | "hr"
  | "table"
  | "thead"
  | "tbody"
  | "tr"
  | "th"
  | "td";
export type InlineTag = "strong" | "em" | "code" | "a" | "br" | "del";
export interface MdElement {
  tag: BlockTag | InlineTag;
  children: MdNode[];
  /** Only on "a", already checked by safeHref. */
  href?: string;
  /** Only on "pre": the fence's language tag, shown as a label. */
  lang?: string;
  /** Only on "th"/"td": the column's alignment from the delimiter row. */
  align?: "left" | "center" | "right";
}
export type MdNode = MdElement | string;

export const ALLOWED_TAGS: ReadonlySet<string> = new Set([
  "p",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "pre",
  "ul",
  "ol",
  "li",
  "blockquote",
  "hr",
  "table",
  "thead",
  "tbody",
  "tr",
  "th",
  "td",
  "strong",
  "em",
  "code",
  "a",
  "br",
  "del",
]);

/** Returns the URL if it is an absolute http(s) or mailto link, else null (javascript:, data:, relative…). */
export function safeHref(raw: string): string | null {
  const url = raw.trim();
  // Control characters and whitespace inside a scheme are a classic bypass ("java\tscript:").
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\s]/.test(url)) return null;
  return /^(https?:\/\/|mailto:)/i.test(url) ? url : null;
}

const el = (tag: MdElement["tag"], children: MdNode[] = []): MdElement => ({ tag, children });

// ---------- inline ----------

const INLINE =
  /(`+)([\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*|(?<![A-Za-z0-9_])__(?=\S)([\s\S]*?\S)__(?![A-Za-z0-9_])|~~(?=\S)([\s\S]*?\S)~~|\*(?=\S)([\s\S]*?\S)\*|(?<![A-Za-z0-9_])_(?=[^\s_])([\s\S]*?[^\s_])_(?![A-Za-z0-9_])|\[([^\]\n]*)\]\(([^)\s]*)(?:\s+"[^"]*")?\)|\n/g;

export function parseInline(text: string, depth = 0): MdNode[] {
  const out: MdNode[] = [];
  const pushText = (s: string) => {
    if (!s) return;
    const last = out[out.length - 1];
    if (typeof last === "string") out[out.length - 1] = last + s;
    else out.push(s);
  };
  // Nesting is bounded so adversarial input cannot blow the stack.
  if (depth > 8) {
    pushText(text);
    return out;
  }
  let pos = 0;
  for (const m of text.matchAll(INLINE)) {
    const at = m.index ?? 0;
    pushText(text.slice(pos, at));
    pos = at + m[0].length;
    if (m[1] !== undefined) out.push(el("code", [m[2]!.replace(/^ (.*) $/s, "$1")]));
    else if (m[3] !== undefined) out.push(el("strong", parseInline(m[3], depth + 1)));
    else if (m[4] !== undefined) out.push(el("strong", parseInline(m[4], depth + 1)));
    else if (m[5] !== undefined) out.push(el("del", parseInline(m[5], depth + 1)));
    else if (m[6] !== undefined) out.push(el("em", parseInline(m[6], depth + 1)));
    else if (m[7] !== undefined) out.push(el("em", parseInline(m[7], depth + 1)));
    else if (m[8] !== undefined) {
      const href = safeHref(m[9] ?? "");
      const children = parseInline(m[8], depth + 1);
      // An unsafe link keeps its text but loses its target.
      if (href) out.push({ tag: "a", href, children });
      else out.push(...children);
    } else out.push(el("br"));
  }
  pushText(text.slice(pos));
  return out;
}

// ---------- blocks ----------

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const HR = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const BULLET = /^(\s*)([-*+])\s+(.*)$/;
const ORDERED = /^(\s*)(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const TABLE_DELIMITER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

/** Cells of a table row: split on unescaped pipes, outer pipes optional. */
function cells(line: string): string[] {
  const parts = line
    .trim()
    .replace(/^\|/, "")
    .replace(/(?<!\\)\|$/, "")
    .split(/(?<!\\)\|/);
  return parts.map((c) => c.trim().replace(/\\\|/g, "|"));
}

function table(header: string, delimiter: string, rows: string[], depth: number): MdElement {
  const aligns = cells(delimiter).map((d) =>
    d.startsWith(":") && d.endsWith(":")
      ? "center"
      : d.endsWith(":")
        ? "right"
        : d.startsWith(":")
          ? "left"
          : undefined,
  );
  const width = aligns.length;
  const row = (line: string, tag: "th" | "td"): MdElement => {
    const values = cells(line);
    return el(
      "tr",
      Array.from({ length: width }, (_, i) => {
        const cell: MdElement = el(tag, parseInline(values[i] ?? "", depth));
        if (aligns[i]) cell.align = aligns[i];
        return cell;
      }),
    );
  };
  const parts = [el("thead", [row(header, "th")])];
  if (rows.length)
    parts.push(
      el(
        "tbody",
        rows.map((r) => row(r, "td")),
      ),
    );
  return el("table", parts);
}

export function parseMarkdown(source: string, depth = 0): MdNode[] {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const blocks: MdNode[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) blocks.push(el("p", parseInline(para.join("\n").trim(), depth)));
    para = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const marker = fence[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trimStart().startsWith(marker)) body.push(lines[i++]!);
      i++; // closing fence (or end of a still-streaming message)
      const pre: MdElement = { tag: "pre", children: [el("code", [body.join("\n")])] };
      if (fence[2]) pre.lang = fence[2];
      blocks.push(pre);
      continue;
    }
    if (!line.trim()) {
      flush();
      i++;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      blocks.push(el(`h${heading[1]!.length}` as BlockTag, parseInline(heading[2]!, depth)));
      i++;
      continue;
    }
    const next = lines[i + 1];
    if (line.includes("|") && next !== undefined && TABLE_DELIMITER.test(next) && next.includes("-")) {
      const headerCount = cells(line).length;
      if (headerCount === cells(next).length) {
        flush();
        const rows: string[] = [];
        i += 2;
        while (i < lines.length && lines[i]!.trim() && lines[i]!.includes("|")) rows.push(lines[i++]!);
        blocks.push(table(line, next, rows, depth));
        continue;
      }
    }
    if (HR.test(line)) {
      flush();
      blocks.push(el("hr"));
      i++;
      continue;
    }
    if (QUOTE.test(line) && depth < 4) {
      flush();
      const body: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i]!)) body.push(QUOTE.exec(lines[i++]!)![1]!);
      blocks.push(el("blockquote", parseMarkdown(body.join("\n"), depth + 1)));
      continue;
    }
    const listStart = BULLET.exec(line) ?? ORDERED.exec(line);
    if (listStart) {
      flush();
      const ordered = !BULLET.test(line);
      const pattern = ordered ? ORDERED : BULLET;
      const list = el(ordered ? "ol" : "ul");
      let current: string[] | null = null;
      const close = () => {
        if (current) list.children.push(el("li", parseInline(current.join("\n"), depth)));
      };
      while (i < lines.length) {
        const l = lines[i]!;
        const item = pattern.exec(l);
        if (item) {
          close();
          current = [item[3]!];
        } else if (l.trim() && /^\s+/.test(l) && current) {
          current.push(l.trim()); // continuation line of the current item
        } else break;
        i++;
      }
      close();
      blocks.push(list);
      continue;
    }
    para.push(line);
    i++;
  }
  flush();
  return blocks;
}

// ---------- DOM ----------

/** Builds DOM nodes from the tree with createElement/textContent only (never innerHTML). */
export function toDom(nodes: MdNode[], doc: Document): DocumentFragment {
  const frag = doc.createDocumentFragment();
  for (const node of nodes) {
    if (typeof node === "string") {
      frag.append(doc.createTextNode(node));
      continue;
    }
    if (!ALLOWED_TAGS.has(node.tag)) continue; // unreachable by construction; belt and braces
    const elem = doc.createElement(node.tag);
    if (node.tag === "a" && node.href) {
      elem.setAttribute("href", node.href);
      elem.setAttribute("target", "_blank");
      elem.setAttribute("rel", "noopener noreferrer nofollow");
    }
    if (node.tag === "pre" && node.lang) elem.setAttribute("data-lang", node.lang);
    if (node.align) elem.setAttribute("data-align", node.align);
    elem.append(toDom(node.children, doc));
    frag.append(elem);
  }
  return frag;
}

export function renderMarkdown(target: HTMLElement, source: string): void {
  target.replaceChildren(toDom(parseMarkdown(source), target.ownerDocument));
}
