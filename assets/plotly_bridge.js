// js_on_load of the gr.HTML that draws a plotly figure (dashboard/plotly_bridge.py): draws the
// figure in props.value with plotly.js and sends clicks and box/lasso selections to Python as
// trigger('select', ...): a heatmap cell as {index: [row, col], value: z}, scatter points as
// {index: [point indexes], value: [their customdata]}.
const host = element.querySelector('.plotly-host');
function draw() {
  if (!props.value || typeof Plotly === 'undefined') { return; }
  const fig = (typeof props.value === 'string') ? JSON.parse(props.value) : props.value;
  const config = Object.assign({responsive: true, displaylogo: false}, fig.config || {});
  Plotly.purge(host);
  Plotly.newPlot(host, fig.data, fig.layout || {}, config).then(() => {
    host.dataset.ready = '1';
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
      trigger('select', {index: pts.map(p => p.pointIndex), value: pts.map(p => p.customdata), kind: 'box'});
    });
  });
}
draw();
watch('value', draw);
