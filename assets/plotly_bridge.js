// js_on_load of the gr.HTML that draws a plotly figure (dashboard/plotly_bridge.py): draws the
// figure in props.value with plotly.js and sends clicks and box/lasso selections to Python as
// trigger('select', ...): a heatmap cell as {index: [row, col], value: z}, scatter points as
// {index: [point indexes], value: [their customdata]}; a box or lasso also names its geometry (range:
// {x: [x0, x1], y: [y0, y1]}, lasso: {x: [...], y: [...]}) and the legend entries switched off (hidden), so
// Python can list every sample inside, drawn or not. A zoom or pan sends the window in view as
// trigger('zoom', {x0, x1, y0, y1}); a double-click (which in select mode also clears the selection)
// or autoscale sends trigger('zoom', {reset: true}).
const host = element.querySelector('.plotly-host');
let resetAt = 0;  // the relayout plotly runs right after its double-click event is not a zoom
function reset() {
  resetAt = Date.now();
  trigger('zoom', {reset: true});
}
function draw() {
  if (!props.value || typeof Plotly === 'undefined') { return; }
  const fig = (typeof props.value === 'string') ? JSON.parse(props.value) : props.value;
  const config = Object.assign({responsive: true, displaylogo: false}, fig.config || {});
  host.dataset.ready = '';
  Plotly.purge(host);
  Plotly.newPlot(host, fig.data, fig.layout || {}, config).then(() => {
    host.dataset.ready = '1';
    host.dataset.drawn = String(Number(host.dataset.drawn || 0) + 1);
    host.on('plotly_click', (ev) => {
      const p = ev.points[0];
      if (p.data.type === 'heatmap') {
        trigger('select', {index: p.pointIndex, value: p.z, kind: 'cell'});
      } else {
        trigger('select', {index: [p.pointIndex], value: [p.customdata], kind: 'click'});
      }
    });
    host.on('plotly_selected', (ev) => {
      if (!ev) { return; }
      const pts = ev.points || [];
      const hidden = (host._fullData || []).filter(t => t.visible === 'legendonly').map(t => t.name);
      trigger('select', {index: pts.map(p => p.pointIndex), value: pts.map(p => p.customdata), kind: 'box',
                         range: ev.range || null, lasso: ev.lassoPoints || null, hidden: hidden});
    });
    host.on('plotly_doubleclick', reset);  // zoom and pan modes
    host.on('plotly_deselect', reset);  // select and lasso modes: a double-click clears the selection
    host.on('plotly_relayout', (ev) => {
      if (!ev || Date.now() - resetAt < 1000) { return; }
      if (ev['xaxis.autorange'] || ev['yaxis.autorange']) { trigger('zoom', {reset: true}); return; }
      if (!Object.keys(ev).some(k => k.startsWith('xaxis.range') || k.startsWith('yaxis.range'))) { return; }
      const xr = host._fullLayout.xaxis.range, yr = host._fullLayout.yaxis.range;
      trigger('zoom', {x0: xr[0], x1: xr[1], y0: yr[0], y1: yr[1]});
    });
  });
}
draw();
watch('value', draw);
