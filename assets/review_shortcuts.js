// Page script: keys press the Review tab's buttons (ignored while typing in a field).
// k keep, a ambiguous, s skip, u undo the last decision, 1..N_LABELS relabel to the numbered class.
// N_LABELS is filled in by dashboard/assets.py (page_script) with the number of labels.
// Each key is echoed at once beside the sample's text (#review-key-echo), then replaced by the server's
// answer (#review-status, above the text too) (a number naming the given class is said there, never stored as keep).
() => {
  const names = {k: 'keep', a: 'ambiguous', s: 'skip', u: 'undo'};
  const echo = (said) => {
    const text = document.querySelector('#review-sample-text');
    if (!text) return;
    let el = document.querySelector('#review-key-echo');
    if (!el) {
      el = document.createElement('div');
      el.id = 'review-key-echo';
      el.setAttribute('role', 'status');
      el.style.cssText = 'font-weight:600;margin:4px 0;color:var(--body-text-color)';
      text.parentNode.insertBefore(el, text);
    }
    el.textContent = said;  // text, never HTML
    el.scrollIntoView({block: 'nearest'});
  };
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    const panel = document.querySelector('#review-keep');
    if (!panel || panel.offsetParent === null) return;
    const map = {k: 'review-keep', a: 'review-ambiguous', s: 'review-skip', u: 'review-undo'};
    let id = map[e.key];
    let said = names[e.key];
    const n = parseInt(e.key, 10);
    if (!id && n >= 1 && n <= N_LABELS) {
      id = 'review-relabel-' + (n - 1);
      const b = document.querySelector('#' + id);
      said = 'relabel to ' + (b ? b.innerText.split('→').pop().trim() : n);
    }
    const b = id && document.querySelector('#' + id);
    if (b) {
      e.preventDefault();
      echo('key ' + e.key + ': ' + said + ' …');
      const status = () => (document.querySelector('#review-status textarea') || {}).value || '';
      const before = status();
      b.click();
      let tries = 0;
      const poll = setInterval(() => {  // the server's answer replaces the echo once it arrives
        const now = status();
        if (now !== before) echo('key ' + e.key + ': ' + now);
        if (now !== before || ++tries > 200) clearInterval(poll);
      }, 150);
    }
  });
}
