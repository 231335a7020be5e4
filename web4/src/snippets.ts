// Ready-to-paste ways to use a conversation's key outside this page. test/e2e-start.test.ts runs the
// JavaScript and curl snippets exactly as the key panel shows them.

export interface SnippetInput {
  apiKey: string;
  /** The proxy's OpenAI base URL, ending in /v1. */
  baseUrl: string;
  model: string;
}

export const SNIPPETS: { id: string; label: string; code: (s: SnippetInput) => string }[] = [
  {
    id: "js",
    label: "JavaScript",
    code: (s) => `// npm install openai
import OpenAI from "openai";

const client = new OpenAI({
  apiKey: "${s.apiKey}",
  baseURL: "${s.baseUrl}",
});
const answer = await client.chat.completions.create({
  model: "${s.model}",
  messages: [{ role: "user", content: "Hello!" }],
});
console.log(answer.choices[0].message.content);
`,
  },
  {
    id: "python",
    label: "Python",
    code: (s) => `# pip install openai
from openai import OpenAI

client = OpenAI(
    api_key="${s.apiKey}",
    base_url="${s.baseUrl}",
)
answer = client.chat.completions.create(
    model="${s.model}",
    messages=[{"role": "user", "content": "Hello!"}],
)
print(answer.choices[0].message.content)
`,
  },
  {
    id: "curl",
    label: "curl",
    code: (s) => `curl ${s.baseUrl}/chat/completions \\
  -H "Authorization: Bearer ${s.apiKey}" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${s.model}", "messages": [{"role": "user", "content": "Hello!"}]}'
`,
  },
  {
    id: "app",
    label: "App settings",
    code: (s) => `In any app with an "OpenAI-compatible" provider setting
(Open WebUI, LibreChat, Continue, …):

Base URL:  ${s.baseUrl}
API key:   ${s.apiKey}
Model:     ${s.model}
`,
  },
];
