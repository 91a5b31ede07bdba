/**
 * The status page: one self-contained HTML document (inline CSS and script,
 * nothing fetched from elsewhere, so it works on a cluster with no internet),
 * rendered from the snapshot embedded in it and refreshed from the JSON
 * beside it every few seconds. Text from the cluster goes into the page with
 * textContent only, never as markup.
 */
import type { StatusData } from './status';

/** How often the page fetches fresh data, ms. */
export const REFRESH_MS = 5000;

const CSS = `
:root{--bg:#f5f6f8;--card:#fff;--ink:#1d2330;--mute:#667085;--line:#e4e7ec;--ok:#1a7f37;--warn:#b54708;--bad:#c0262d;--bar:#2f6fde}
@media (prefers-color-scheme:dark){:root{--bg:#101318;--card:#181c23;--ink:#e6e8ec;--mute:#98a2b3;--line:#2a303a;--ok:#4ac26b;--warn:#f0a030;--bad:#f47067;--bar:#5b8def}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{padding:16px 20px 4px}
h1{font-size:20px;margin:0}
h2{font-size:15px;margin:0 0 10px;color:var(--mute);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
main{padding:8px 20px 24px;display:grid;gap:16px;max-width:1100px}
.sub{color:var(--mute);font-size:13px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
.tile,.card{background:var(--card);border:1px solid var(--line);border-radius:10px}
.tile{padding:10px 12px}
.tile b{display:block;font-size:20px}
.tile span{color:var(--mute);font-size:12px}
.card{padding:14px 16px;overflow-x:auto}
.dev{display:grid;grid-template-columns:minmax(150px,1.2fr) minmax(120px,2fr) minmax(150px,1fr);gap:4px 14px;align-items:center;padding:8px 0;border-top:1px solid var(--line)}
.dev:first-of-type{border-top:0}
.bar{height:10px;border-radius:5px;background:var(--line);overflow:hidden}
.bar i{display:block;height:100%;background:var(--bar)}
.bar.full i{background:var(--bad)}
.nums{font-size:13px;color:var(--mute);text-align:right;white-space:nowrap}
.badge{display:inline-block;font-size:12px;padding:1px 7px;border-radius:9px;border:1px solid currentColor;margin-left:6px}
.ok{color:var(--ok)}.warn{color:var(--warn)}.bad{color:var(--bad)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-top:1px solid var(--line);font-size:14px}
th{color:var(--mute);font-weight:600;border-top:0}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.err{padding:6px 0;border-top:1px solid var(--line);font-size:13px;word-break:break-word}
.err:first-of-type{border-top:0}
.err time{color:var(--mute);margin-right:8px}
.note{background:var(--card);border-left:4px solid var(--warn);padding:8px 12px;border-radius:6px}
@media (max-width:600px){
 header{padding:12px 12px 2px}main{padding:8px 12px 20px}
 .dev{grid-template-columns:1fr;gap:6px}.dev .nums{text-align:left}
 th,td{padding:5px 4px;font-size:13px}
}`;

// Runs in the browser: keep it plain ES2017 and free of console output.
const SCRIPT = `
(function(){
var REFRESH=${REFRESH_MS};
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!==undefined)e.textContent=String(text);return e;}
function bytes(n){if(n===null||n===undefined)return'n/a';var u=['B','KB','MB','GB','TB','PB'],i=0;while(n>=1000&&i<u.length-1){n/=1000;i++;}return(i?n.toFixed(n<10?2:1):n)+' '+u[i];}
function mb(n){return bytes(n*1e6);}
function num(n){return n===null||n===undefined?'n/a':Number(n).toLocaleString('en-US');}
function stateClass(s){return s==='alive'||s==='writeable'?'ok':s==='readonly'||s==='readable'||s==='drain'||s==='down'?'warn':'bad';}
function tile(v,label){var t=el('div','tile');t.appendChild(el('b','',v));t.appendChild(el('span','',label));return t;}
function table(head,rows,numeric){var t=el('table');var tr=el('tr');head.forEach(function(h,i){tr.appendChild(el('th',numeric[i]?'n':'',h));});t.appendChild(tr);
 rows.forEach(function(r){var row=el('tr');r.forEach(function(c,i){var td=el('td',numeric[i]?'n':'');if(c instanceof Node)td.appendChild(c);else td.textContent=String(c);row.appendChild(td);});t.appendChild(row);});return t;}
function badge(s){return el('span','badge '+stateClass(s),s);}
function render(d){
 var alive=d.devices.filter(function(x){return x.status==='alive';}).length;
 var used=0,total=0;d.devices.forEach(function(x){used+=x.mbUsed;total+=x.mbTotal;});
 var files=null;if(d.extensions){files=0;d.domains.forEach(function(x){files+=x.files||0;});}
 var tiles=document.getElementById('tiles');tiles.textContent='';
 tiles.appendChild(tile(d.hosts.filter(function(h){return h.status==='alive';}).length+' / '+d.hosts.length,'hosts alive'));
 tiles.appendChild(tile(alive+' / '+d.devices.length,'devices alive'));
 tiles.appendChild(tile(mb(used),'used of '+mb(total)+(total>0?' ('+Math.round(100*used/total)+'%)':'')));
 tiles.appendChild(tile(num(files),'files'));
 tiles.appendChild(tile(num(d.queues.replicate),'to replicate'));
 tiles.appendChild(tile(num(d.queues.delete),'to delete'));
 var devs=document.getElementById('devices');devs.textContent='';
 if(!d.devices.length)devs.appendChild(el('p','sub','No devices yet.'));
 d.devices.forEach(function(x){
  var row=el('div','dev');row.setAttribute('data-devid',x.devid);
  var name=el('div');name.appendChild(el('b','','dev'+x.devid));name.appendChild(document.createTextNode(' on '+x.host));name.appendChild(badge(x.status));
  if(x.observed&&x.observed!=='writeable')name.appendChild(badge(x.observed));
  var pct=x.mbTotal>0?Math.min(100,100*x.mbUsed/x.mbTotal):0;
  var bar=el('div','bar'+(pct>=95?' full':''));var fill=el('i');fill.style.width=pct.toFixed(1)+'%';bar.appendChild(fill);bar.title=pct.toFixed(1)+'% used';
  var nums=el('div','nums',mb(x.mbUsed)+' used \\u00b7 '+mb(x.mbFree)+' free');
  row.appendChild(name);row.appendChild(bar);row.appendChild(nums);devs.appendChild(row);
 });
 var hosts=document.getElementById('hosts');hosts.textContent='';
 hosts.appendChild(table(['host','address','status'],d.hosts.map(function(h){return[h.name,h.ip+':'+h.port,badge(h.status)];}),[0,0,0]));
 var doms=document.getElementById('domains');doms.textContent='';
 doms.appendChild(table(['domain','classes','files','bytes'],d.domains.map(function(x){return[x.name,x.classes,num(x.files),bytes(x.bytes)];}),[0,1,1,1]));
 var errs=document.getElementById('errors');errs.textContent='';
 if(!d.errors.length)errs.appendChild(el('p','sub','None lately.'));
 d.errors.forEach(function(x){var e=el('div','err');e.appendChild(el('time','',new Date(x.time).toLocaleString()));
  e.appendChild(el('span',x.level==='warn'?'warn':'bad',x.from+(x.source?'/'+x.source:'')+': '));e.appendChild(document.createTextNode(x.message));errs.appendChild(e);});
 var notes=document.getElementById('notes');notes.textContent='';
 d.notes.forEach(function(n){notes.appendChild(el('div','note',n));});
 document.getElementById('updated').textContent='Trackers '+d.trackers.join(', ')+' \\u00b7 updated '+new Date(d.generated).toLocaleTimeString();
}
function refresh(){
 fetch('status.json',{cache:'no-store'}).then(function(r){if(!r.ok)throw new Error('HTTP '+r.status);return r.json();})
 .then(function(d){render(d);document.getElementById('stale').hidden=true;},function(){document.getElementById('stale').hidden=false;});
}
render(JSON.parse(document.getElementById('initial').textContent));
setInterval(refresh,REFRESH);
})();`;

/** JSON safe to put inside a <script> element: no `<` that could close it. */
function scriptJson(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function statusPage(data: StatusData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mogfs status</title>
<link rel="icon" href="data:,">
<style>${CSS}</style></head>
<body>
<header><h1>mogfs status</h1><div class="sub" id="updated"></div>
<div class="sub bad" id="stale" hidden>Could not refresh: showing the last data.</div></header>
<main>
<div id="notes"></div>
<section class="tiles" id="tiles"></section>
<section class="card"><h2>Devices</h2><div id="devices"></div></section>
<section class="card"><h2>Domains</h2><div id="domains"></div></section>
<section class="card"><h2>Hosts</h2><div id="hosts"></div></section>
<section class="card"><h2>Recent errors</h2><div id="errors"></div></section>
</main>
<script type="application/json" id="initial">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
