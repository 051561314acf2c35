// The report's only script: hover details for operations. Marks <html data-report="ok"> when it
// ran through and data-report="error" on any uncaught error (a headless browser test reads it).
window.onerror = function () { document.documentElement.setAttribute('data-report', 'error'); };
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var tip = document.getElementById('tip');
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c];
    });
  }
  function describe(op) {
    var key = op.key ? ' ' + op.key : '';
    var ret = op.ret === null ? 'unknown' + (op.note ? ' (' + op.note + ')' : '') : op.ret.toFixed(3) + 's';
    var rows = [
      ['op', '#' + op.index + ' client ' + op.client + ' ' + op.f + key],
      ['outcome', op.outcome],
      ['call', op.call.toFixed(3) + 's'],
      ['return', ret],
      ['request', JSON.stringify(op.input)],
      ['response', op.ret === null ? '?' : JSON.stringify(op.output)],
      ['revision', op.revision === null ? '-' : op.revision]
    ];
    return rows.map(function (r) { return '<div><b>' + r[0] + '</b> ' + esc(r[1]) + '</div>'; }).join('');
  }
  function place(e) {
    var x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = e.clientY + 14;
    if (y + tip.offsetHeight > window.innerHeight) { y = e.clientY - tip.offsetHeight - 10; }
    tip.style.left = Math.max(0, x) + 'px';
    tip.style.top = Math.max(0, y) + 'px';
  }
  var shapes = document.querySelectorAll('[data-op]');
  for (var i = 0; i < shapes.length; i++) {
    (function (el) {
      var op = data.ops[Number(el.getAttribute('data-op'))];
      if (!op) { return; }
      el.addEventListener('mouseenter', function (e) { tip.innerHTML = describe(op); tip.style.display = 'block'; place(e); });
      el.addEventListener('mousemove', place);
      el.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
    })(shapes[i]);
  }
  // Rows of the window and linearisation tables point at their operation in the drawings.
  var rows = document.querySelectorAll('tr[data-row-op]');
  for (var j = 0; j < rows.length; j++) {
    (function (row) {
      var index = row.getAttribute('data-row-op');
      row.addEventListener('mouseenter', function () {
        var bars = document.querySelectorAll('rect[data-op="' + index + '"]');
        for (var k = 0; k < bars.length; k++) { bars[k].classList.add('selected'); }
      });
      row.addEventListener('mouseleave', function () {
        var bars = document.querySelectorAll('rect.selected');
        for (var k = 0; k < bars.length; k++) { bars[k].classList.remove('selected'); }
      });
    })(rows[j]);
  }
  if (document.documentElement.getAttribute('data-report') !== 'error') {
    document.documentElement.setAttribute('data-report', 'ok');
  }
})();
