// Page script: keys press the Review tab's buttons (ignored while typing in a field).
// k keep, a ambiguous, s skip, 1..N_LABELS relabel to the numbered class. N_LABELS is filled in by
// dashboard/assets.py (page_script) with the number of labels.
() => {
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    const panel = document.querySelector('#review-keep');
    if (!panel || panel.offsetParent === null) return;
    const map = {k: 'review-keep', a: 'review-ambiguous', s: 'review-skip'};
    let id = map[e.key];
    const n = parseInt(e.key, 10);
    if (!id && n >= 1 && n <= N_LABELS) id = 'review-relabel-' + (n - 1);
    const b = id && document.querySelector('#' + id);
    if (b) { e.preventDefault(); b.click(); }
  });
}
