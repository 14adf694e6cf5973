// Server-side paging: "Page 2 of 7 · 64 sessions" with previous/next links that keep the URL a permalink.

import { h } from '../dom.js';

/** `hrefFor(page)` builds the link of a page. Past the last page, "Previous" goes to the last one. */
export function pager({ page, pageSize, total, noun, hrefFor }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return h('nav.pager', { 'aria-label': 'pages' },
    page > 1 ? h('a.button.quiet', { href: hrefFor(Math.min(page - 1, pages)) }, '← Previous') : h('span.button.quiet.disabled', '← Previous'),
    h('span.pager-text', `Page ${page} of ${pages} · ${total} ${noun}`),
    page < pages ? h('a.button.quiet', { href: hrefFor(page + 1) }, 'Next →') : h('span.button.quiet.disabled', 'Next →'));
}
