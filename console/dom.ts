// A few lines of DOM building instead of a UI framework: every page is a set of tables rebuilt from the
// latest reply, so there is no state to reconcile that a virtual DOM would pay for (docs/console.md).
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** el('td', {class: 'ok', title: '…'}, 'text', child…); `on…` attributes become listeners. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node: Node, children: (Child | Child[])[]): void {
  for (const c of children) {
    if (Array.isArray(c)) append(node, c);
    else if (c !== null && c !== undefined && c !== false)
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** Replaces everything inside `node`. */
export function fill(node: Element, ...children: (Child | Child[])[]): void {
  node.replaceChildren();
  append(node, children);
}
