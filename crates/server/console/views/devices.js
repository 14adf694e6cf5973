// The devices of a project (DescribeDeviceList) with their status, filters by type, status and words,
// and the forms that create (CreateDevice), modify (ModifyDevice) and delete (BatchDeleteDevices) them.
// The API's rules and errors are the console's: a rejected form shows the API's answer in words.

import { h, mount, formValues } from '../dom.js';
import { isoTime } from '../format.js';
import { go, href } from '../routes.js';
import { changer, listBox } from '../widgets/list-page.js';
import { empty, notice } from '../widgets/messages.js';
import { pager } from '../widgets/pager.js';

const PAGE_SIZE = 50;

export async function render({ root, params, project, call, isCurrent }) {
  const page = Math.max(1, Number(params.page) || 1);
  const status = h('div.form-status');
  const filters = h('form.filters', {
    onsubmit: (ev) => {
      ev.preventDefault();
      const v = formValues(ev.target);
      go('devices', { project, type: v.type, status: v.status, q: v.q });
    },
  },
  h('div.field', h('label', { for: 'd-type' }, 'Type'), select('type', 'd-type', params.type, [['', 'any'], ['field', 'field (the machine)'], ['remote', 'remote (operator station)']])),
  h('div.field', h('label', { for: 'd-status' }, 'Status'), select('status', 'd-status', params.status, [['', 'any'], ['online', 'online'], ['connected', 'in a session'], ['ready', 'ready'], ['offline', 'offline']])),
  h('div.field', h('label', { for: 'd-q' }, 'Id or name contains'), h('input', { id: 'd-q', name: 'q', value: params.q || '' })),
  h('button', { type: 'submit' }, 'Filter'),
  h('a.button.quiet', { href: href('devices', { project }) }, 'Clear'));

  const listEl = h('div.list');
  const list = listBox(listEl, { load, isCurrent, what: 'The devices cannot be listed' });
  const change = changer({ status, reload: list, isCurrent });

  const create = h('form.inline', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const v = formValues(form);
      const made = await change({
        run: () => call('CreateDevice', { ProjectId: project, DeviceId: v.DeviceId, DeviceName: v.DeviceName, DeviceType: v.DeviceType, DeviceToken: v.DeviceToken }),
        done: `Device ${v.DeviceId} created.`,
        failed: 'The device was not created',
      });
      if (made) form.reset();
    },
  },
  h('div.field', h('label', { for: 'c-id' }, 'Device id'), h('input', { id: 'c-id', name: 'DeviceId', required: true, placeholder: 'truck_07', pattern: '[a-z0-9_]{1,32}', title: '1 to 32 lowercase letters, digits or _' })),
  h('div.field', h('label', { for: 'c-name' }, 'Name'), h('input', { id: 'c-name', name: 'DeviceName', required: true, placeholder: 'Truck 7' })),
  h('div.field', h('label', { for: 'c-type' }, 'Type'), select('DeviceType', 'c-type', 'field', [['field', 'field'], ['remote', 'remote']])),
  h('div.field', h('label', { for: 'c-token' }, 'Token (16 letters or digits)'), h('input', { id: 'c-token', name: 'DeviceToken', required: true, value: randomToken(), spellcheck: 'false' })),
  h('button', { type: 'submit' }, 'Create device'));

  mount(root,
    h('div.page-head', h('div', h('h1', 'Devices'), h('p.muted', 'Field devices are the machines driven; remote devices are the operator stations that drive them.'))),
    filters, listEl,
    h('section.editor', h('h2', 'Add a device'), create, status));

  async function load() {
    const req = { ProjectId: project, PageNumber: page, PageSize: PAGE_SIZE, RegisterType: 1 };
    if (params.type) req.DeviceType = params.type;
    if (params.status) req.DeviceStatus = params.status;
    if (params.q) req.SearchWords = params.q;
    const r = await call('DescribeDeviceList', req);
    const devices = r.Devices || [];
    const table = devices.length
      ? h('table.devices',
        h('thead', h('tr', h('th', 'device'), h('th', 'name'), h('th', 'type'), h('th', 'status'), h('th', 'status since'), h('th', 'modified'), h('th.actions-cell', ''))),
        h('tbody', devices.map((d) => deviceRow(d))))
      : empty(r.Total ? 'No device on this page.' : 'No device matches. Add one below.');
    // The pager also past the last page, so there is a way back.
    return [h('div.table-card', table),
      r.Total || page > 1 ? pager({ page, pageSize: PAGE_SIZE, total: r.Total, noun: 'devices', hrefFor: (n) => href('devices', { ...params, project, page: n }) }) : null];
  }

  function deviceRow(d) {
    const row = h('tr', { dataset: { deviceId: d.DeviceId } },
      h('td', h('a', { href: href('device', d.DeviceId, { project }) }, d.DeviceId)),
      h('td', d.DeviceName),
      h('td', d.DeviceType),
      h('td', h(`span.status.status-${d.DeviceStatus}`, d.DeviceStatus)),
      h('td.nowrap', isoTime(d.LastReportTime)),
      h('td.nowrap', isoTime(d.ModifyTime)),
      h('td.actions-cell',
        h('button.quiet.small', { type: 'button', onclick: () => edit(d, row) }, 'Edit'),
        h('button.quiet.small', {
          type: 'button',
          onclick: () => change({
            confirm: `Delete device ${d.DeviceId}? It also leaves every policy list.`,
            run: () => call('BatchDeleteDevices', { ProjectId: project, DeviceIds: [d.DeviceId] }),
            done: (r) => ((r.FailedDeviceIds || []).length ? notice(`Device ${d.DeviceId} was not found; nothing deleted.`) : `Device ${d.DeviceId} deleted.`),
            failed: 'The device was not deleted',
          }),
        }, 'Delete')));
    return row;
  }

  function edit(d, row) {
    const form = h('form.inline', {
      onsubmit: (ev) => {
        ev.preventDefault();
        const v = formValues(ev.target);
        const req = { ProjectId: project, DeviceId: d.DeviceId, DeviceName: v.DeviceName };
        if (v.DeviceToken) req.DeviceToken = v.DeviceToken;
        change({ run: () => call('ModifyDevice', req), done: `Device ${d.DeviceId} saved.`, failed: 'The device was not saved' });
      },
    },
    h('div.field', h('label', 'Name'), h('input', { name: 'DeviceName', value: d.DeviceName, required: true })),
    h('div.field', h('label', 'New token (empty: keep)'), h('input', { name: 'DeviceToken', spellcheck: 'false' })),
    h('button', { type: 'submit' }, 'Save'),
    h('button.quiet', { type: 'button', onclick: () => list() }, 'Cancel'));
    row.replaceWith(h('tr.editing', h('td', d.DeviceId), h('td', { colspan: 6 }, form)));
  }

  await list();
  return undefined;
}

function select(name, id, value, options) {
  return h('select', { name, id }, options.map(([v, t]) => h('option', { value: v, selected: (value || '') === v }, t)));
}

/** A fresh 16-character device token (letters and digits), from the browser's CSPRNG. */
function randomToken() {
  const abc = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => abc[b % abc.length]).join('');
}
