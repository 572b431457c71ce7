/**
 * dashboard.js, served as a file of its own (the CSP allows scripts from 'self' only, never inline). Kept in a
 * TypeScript string so that tsc's dist and the bundled CLI both carry it without copying files. Plain ES2020 for
 * the browser, no build step. It only ever writes text (`textContent`), never markup, so nothing a decision
 * carries can become HTML here either.
 */
export const DASHBOARD_JS = String.raw`'use strict';
(function () {
  var POLL_MS = 2000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function shortDigest(digest) {
    if (!digest) return el('span', 'muted', '\u2014');
    var code = el('code', 'digest', digest.length > 19 ? digest.slice(0, 19) + '\u2026' : digest);
    code.title = digest;
    return code;
  }

  function when(at) {
    var iso = new Date(at).toISOString();
    var node = el('time', '', iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
    node.setAttribute('datetime', iso);
    return node;
  }

  var KNOWN = ['allow', 'deny', 'warn', 'indeterminate'];

  function row(base, d) {
    var tr = el('tr', 'new');
    tr.setAttribute('data-id', d.id);
    tr.setAttribute('data-verdict', d.verdict);
    var cells = [];
    cells.push(when(d.at));
    cells.push(el('span', 'badge ' + (KNOWN.indexOf(d.verdict) >= 0 ? d.verdict : 'unknown'), d.verdict));
    var link = el('a', 'image', d.upstream + '/' + d.repository + (d.tag !== undefined ? ':' + d.tag : ''));
    link.setAttribute('href', base + '/decisions/' + encodeURIComponent(d.id));
    cells.push(link);
    cells.push(shortDigest(d.digest));
    cells.push(document.createTextNode(d.user || ''));
    cells.push(document.createTextNode(d.rule || ''));
    cells.push(document.createTextNode((d.reasons && d.reasons[0]) || ''));
    var classes = ['', '', '', '', 'user', '', 'reason'];
    for (var i = 0; i < cells.length; i++) {
      var td = el('td', classes[i]);
      td.appendChild(cells[i]);
      tr.appendChild(td);
    }
    return tr;
  }

  function liveDecisions(tbody) {
    var base = tbody.getAttribute('data-base');
    var status = document.getElementById('live-status');
    var busy = false;
    function poll() {
      if (busy) return;
      busy = true;
      var url = new URL(tbody.getAttribute('data-live'), window.location.href);
      url.searchParams.set('after', tbody.getAttribute('data-newest') || '0');
      fetch(url.toString(), { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
        .then(function (response) {
          if (!response.ok) throw new Error('HTTP ' + response.status);
          return response.json();
        })
        .then(function (page) {
          var fresh = page.decisions || [];
          for (var i = fresh.length - 1; i >= 0; i--) tbody.insertBefore(row(base, fresh[i]), tbody.firstChild);
          if (page.newestAt) tbody.setAttribute('data-newest', String(page.newestAt));
          Object.keys(page.counts || {}).forEach(function (verdict) {
            var counter = document.querySelector('[data-count="' + verdict + '"]');
            if (counter && page.counts[verdict] > 0) counter.textContent = String(Number(counter.textContent) + page.counts[verdict]);
          });
          if (fresh.length > 0) {
            var empty = document.getElementById('no-decisions');
            if (empty) empty.remove();
          }
          if (status) status.textContent = 'Live: checked at ' + new Date().toISOString().slice(11, 19) + ' UTC' + (fresh.length > 0 ? ', ' + fresh.length + ' new' : '') + '.';
        })
        .catch(function (error) {
          if (status) status.textContent = 'Live update paused: ' + error.message + '; retrying.';
        })
        .then(function () {
          busy = false;
        });
    }
    window.setInterval(poll, POLL_MS);
  }

  function pendingDiff(node) {
    var timer = window.setInterval(function () {
      fetch(node.getAttribute('data-poll'), { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (decision) {
          if (decision && decision.diff && decision.diff.state !== 'pending') {
            window.clearInterval(timer);
            window.location.reload();
          }
        })
        .catch(function () {});
    }, 1000);
  }

  function dropEmptyFilters(form) {
    form.addEventListener('submit', function () {
      var fields = form.querySelectorAll('input, select');
      for (var i = 0; i < fields.length; i++) if (fields[i].value === '') fields[i].disabled = true;
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var tbody = document.querySelector('tbody[data-live]');
    if (tbody) liveDecisions(tbody);
    var pending = document.getElementById('diff-pending');
    if (pending) pendingDiff(pending);
    var form = document.querySelector('form.filters');
    if (form) dropEmptyFilters(form);
  });
})();
`;
