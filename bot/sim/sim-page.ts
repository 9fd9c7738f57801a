import { escapeHtml } from '../../adapters/chat/sim/sim-render.js';

/** Who the page's session is: the simulator user it acts as, the users it may choose, and its real principal. */
export interface SimYou {
  user: string;
  choosable: readonly string[];
  via: string;
}

/**
 * The /sim page: server-rendered channel plus a little inline script that polls
 * /sim/api/state every second, sends commands and clicks, and asks for a reject reason in a
 * <dialog>. The user menu asks the server to switch (POST /sim/api/as): who acts is the session's
 * choice, kept on the server, never a field of the requests. No build step, no external assets.
 */
export function simPageHtml(opts: { channel: string; users: readonly string[]; approvers: readonly string[]; you: SimYou; channelHtml: string; rev: number }): string {
  const userOptions = opts.users.map((u) => {
    const role = opts.approvers.includes(u) ? 'approver' : 'requester';
    const state = `${u === opts.you.user ? ' selected' : ''}${opts.you.choosable.includes(u) ? '' : ' disabled'}`;
    return `<option value="${escapeHtml(u)}"${state}>${escapeHtml(u)} (${role})</option>`;
  }).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>opsloop simulator · #${escapeHtml(opts.channel)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f4f6;color:#1d1c1d}
header{background:#3f0e40;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header h1{font-size:16px;margin:0} header label{margin-left:auto}
main{max-width:900px;margin:0 auto;padding:12px 16px 160px}
.case{background:#fff;border:1px solid #ddd;border-radius:6px;margin:12px 0;padding:8px 12px}
.msg{padding:4px 0}.who{font-weight:700}.at{color:#888;font-size:12px}
.thread{border-left:3px solid #ddd;margin:6px 0 0 12px;padding-left:10px}
.m-h{font-weight:700;margin:4px 0}.m-c{color:#666;font-size:12px}.m-t{margin:4px 0}
.m-l{margin:4px 0;padding-left:20px}.m-f{display:flex;flex-wrap:wrap;gap:4px 16px;margin:4px 0}.m-f dt{font-size:12px;color:#666}.m-f dd{margin:0}
code{background:#eee;border-radius:3px;padding:0 3px}
.btn{border:1px solid #888;border-radius:4px;padding:4px 12px;margin:4px 6px 4px 0;cursor:pointer;background:#fff}
.btn.primary{background:#007a5a;color:#fff;border-color:#007a5a}.btn.danger{background:#fff;color:#e01e5a;border-color:#e01e5a}
.link{background:none;border:none;color:#1264a3;cursor:pointer;padding:0;font-size:12px}
footer{position:fixed;bottom:0;left:0;right:0;background:#fff;border-top:1px solid #ddd;padding:8px 16px}
#replies{max-height:120px;overflow:auto;font-size:13px}.ephemeral{background:#fffbe6;border-left:3px solid #e8b500;padding:4px 8px;margin:4px 0}
form{display:flex;gap:8px}#command{flex:1;padding:6px;font:inherit}#where{color:#666;font-size:12px}
.empty{color:#666}.empty.demo{background:#fff;border:1px dashed #bbb;border-radius:6px;padding:8px 16px;color:#1d1c1d}dialog textarea{width:320px;height:80px}
</style></head>
<body>
<header><h1>opsloop simulator</h1><span>#${escapeHtml(opts.channel)}</span>
<label>You are <select id="user">${userOptions}</select></label><span id="via" title="who you are signed in as">as ${escapeHtml(opts.you.via)}</span></header>
<main id="channel" data-rev="${opts.rev}">${opts.channelHtml}</main>
<footer>
<div id="replies" aria-live="polite"></div>
<div id="where">posting in the channel</div>
<form id="command-form"><input id="command" name="command" autocomplete="off" placeholder='/ops open "p95 spike" sev=2 service=checkout-api env=prod' value="/ops ">
<button type="submit" class="btn primary">Send</button></form>
</footer>
<dialog id="reject-dialog"><form method="dialog" id="reject-form">
<p id="reject-title">Reject plan</p><textarea id="reject-reason" required maxlength="500" placeholder="Why reject this plan?"></textarea>
<p><button type="submit" class="btn danger" id="reject-submit" value="reject">Reject</button> <button type="button" class="btn" id="reject-cancel">Cancel</button></p>
</form></dialog>
<script>
(function () {
  var rev = Number(document.getElementById('channel').dataset.rev);
  var thread = null;
  var pendingReject = null;
  var user = document.getElementById('user');
  var current = user.value;
  function showReply(reply) {
    var div = document.createElement('div');
    div.className = 'ephemeral';
    div.innerHTML = '<b>only visible to you:</b> ' + reply.html;
    var box = document.getElementById('replies');
    box.appendChild(div);
    box.scrollTop = box.scrollHeight;
  }
  // One request at a time, in order: a click right after a switch of user acts as the new user.
  var queue = Promise.resolve();
  function send(path, body) {
    var sent = queue.then(function () {
      return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    }).then(function (r) { return r.json(); })
      .then(function (j) {
        if (j.error) { showReply({ html: j.error.message.replace(/[&<>]/g, '') }); return null; }
        return j;
      }, function () { showReply({ html: 'opsloop did not answer; try again.' }); return null; });
    queue = sent;
    return sent;
  }
  function post(path, body) {
    return send(path, body).then(function (j) { return j && j.reply; });
  }
  user.addEventListener('change', function () {
    user.disabled = true;
    send('/sim/api/as', { user: user.value }).then(function (j) {
      current = j ? j.you.user : current;
      user.value = current;
      user.disabled = false;
    });
  });
  function poll() {
    fetch('/sim/api/state?since=' + rev).then(function (r) { return r.json(); }).then(function (s) {
      if (s.rev !== rev && typeof s.html === 'string') {
        rev = s.rev;
        var main = document.getElementById('channel');
        main.innerHTML = s.html;
        main.dataset.rev = String(rev);
      }
    }).catch(function () {}).then(function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, 1000);
  document.getElementById('command-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var input = document.getElementById('command');
    var text = input.value;
    post('/sim/api/command', thread ? { text: text, thread: thread } : { text: text }).then(function (reply) {
      if (reply) showReply(reply);
      input.value = '/ops ';
    });
  });
  document.addEventListener('click', function (e) {
    var t = e.target.closest('button');
    if (!t) return;
    if (t.dataset.thread) {
      thread = thread === t.dataset.thread ? null : t.dataset.thread;
      document.getElementById('where').textContent = thread ? 'posting in the thread of message ' + thread + ' (click "reply in thread" again to leave)' : 'posting in the channel';
      return;
    }
    if (t.dataset.command) {
      post('/sim/api/command', { text: t.dataset.command }).then(function (reply) { if (reply) showReply(reply); });
      return;
    }
    if (!t.dataset.action) return;
    post('/sim/api/action', { value: t.dataset.value }).then(function (reply) {
      if (!reply) return;
      if (reply.kind === 'modal') {
        pendingReject = reply.modal.value;
        document.getElementById('reject-title').textContent = reply.modal.title + ': ' + reply.modal.caseTitle;
        document.getElementById('reject-reason').value = '';
        document.getElementById('reject-dialog').showModal();
        return;
      }
      showReply(reply);
    });
  });
  document.getElementById('reject-cancel').addEventListener('click', function () { document.getElementById('reject-dialog').close(); });
  document.getElementById('reject-form').addEventListener('submit', function () {
    var reason = document.getElementById('reject-reason').value;
    var value = pendingReject;
    pendingReject = null;
    if (value) post('/sim/api/reject', { value: value, reason: reason }).then(function (reply) { if (reply) showReply(reply); });
  });
})();
</script>
</body></html>`;
}
