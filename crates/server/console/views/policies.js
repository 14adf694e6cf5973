// Which remote device may drive which field device (docs/api.md §4.4): the project's black and white
// lists per remote device (DescribePolicy), the editor that adds, removes or sets field devices of a
// list (ModifyPolicy), clears a remote device's list (BatchDeletePolicy), and the switch of the list in
// force (ModifyProject PolicyMode).

import { h, mount, formValues } from '../dom.js';
import { isoTime } from '../format.js';
import { go, href } from '../routes.js';
import { callAll } from '../api.js';
import { changer, listBox } from '../widgets/list-page.js';
import { empty, notice } from '../widgets/messages.js';

export async function render({ root, params, project, call, isCurrent }) {
  mount(root, h('p.loading', 'Loading…'));
  const [info, devices] = await Promise.all([
    call('DescribeProjectInfo', { ProjectId: project }),
    callAll('DescribeDeviceList', { ProjectId: project, RegisterType: 1 }, 'Devices', 1000),
  ]);
  if (!isCurrent()) return undefined;
  const mode = params.mode === 'white' || params.mode === 'black' ? params.mode : info.PolicyMode;
  const remotes = devices.filter((d) => d.DeviceType === 'remote');
  const fields = devices.filter((d) => d.DeviceType === 'field');
  const status = h('div.form-status');
  const listEl = h('div.list');
  const list = listBox(listEl, { load, isCurrent, what: 'The lists cannot be shown' });
  const change = changer({ status, reload: list, isCurrent });
  const inForce = mode === info.PolicyMode;

  mount(root,
    h('div.page-head', h('div', h('h1', 'Policies'),
      h('p.muted', info.PolicyMode === 'white'
        ? 'White list in force: a remote device may drive only the field devices listed for it.'
        : 'Black list in force: a remote device may drive every field device except those listed for it.'))),
    h('div.policy-mode',
      h('nav.segmented', ['black', 'white'].map((m) => h('a', { href: href('policies', { project, mode: m }), class: m === mode ? 'active' : null }, `${m} list`))),
      inForce ? h('span.tag.on', 'in force') : h('span.tag', 'not in force'),
      inForce ? null : h('button.quiet', {
        type: 'button',
        onclick: () => change({
          run: () => call('ModifyProject', { ProjectId: project, PolicyMode: mode }),
          done: `The ${mode} list is in force.`,
          failed: 'The policy in force was not changed',
        }).then((made) => made && go('policies', { project, mode })),
      }, `Put the ${mode} list in force`)),
    listEl,
    editor(),
    status);

  function editor() {
    if (!remotes.length) return h('section.editor', h('h2', 'Edit a list'), empty('The project has no remote device yet: add one on the Devices page.'));
    return h('section.editor', h('h2', `Edit the ${mode} list of a remote device`),
      h('form.stacked', {
        onsubmit: (ev) => {
          ev.preventDefault();
          const v = formValues(ev.target);
          const ids = [...ev.target.querySelectorAll('input[name=field]:checked')].map((c) => c.value);
          change({
            run: () => call('ModifyPolicy', { ProjectId: project, RemoteDeviceId: v.remote, FieldDeviceIds: ids, PolicyMode: mode, ModifyMode: v.op }),
            done: (r) => {
              const failed = [...(r.FailedInsertIds || []), ...(r.FailedDeleteIds || [])];
              return failed.length
                ? notice(`Saved, except: ${failed.join(', ')} (${(r.FailedInsertIds || []).length ? 'not field devices of this project' : 'not in the list'}).`)
                : `The ${mode} list of ${v.remote} is saved.`;
            },
            failed: 'The list was not changed',
          });
        },
      },
      h('div.field', h('label', 'Remote device'), h('select', { name: 'remote' }, remotes.map((d) => h('option', { value: d.DeviceId }, `${d.DeviceId} (${d.DeviceName})`)))),
      h('div.field', h('label', 'Field devices'), fields.length
        ? h('div.chips.pick', fields.map((d) => h('label.pick-item', h('input', { type: 'checkbox', name: 'field', value: d.DeviceId }), ' ', d.DeviceId)))
        : h('span.muted', 'No field device yet.')),
      h('div.field', h('label', 'Change'), h('select', { name: 'op' },
        h('option', { value: 'add' }, 'add them to the list'), h('option', { value: 'remove' }, 'remove them from the list'), h('option', { value: 'set' }, 'make the list exactly these'))),
      h('div', h('button', { type: 'submit' }, 'Save'))));
  }

  async function load() {
    const items = await callAll('DescribePolicy', { ProjectId: project, PolicyMode: mode }, 'PolicyInfo', 1000);
    if (!items.length) return h('div.table-card', empty(`No remote device has a ${mode} list.`));
    return h('div.table-card', h('table.policies',
      h('thead', h('tr', h('th', 'remote device'), h('th', mode === 'white' ? 'may drive only' : 'may not drive'), h('th', 'modified'), h('th.actions-cell', ''))),
      h('tbody', items.map((p) => h('tr', { dataset: { remote: p.RemoteDeviceId } },
        h('td', h('a', { href: href('device', p.RemoteDeviceId, { project }) }, p.RemoteDeviceId)),
        h('td', p.FieldDeviceIds.length ? h('div.chips', p.FieldDeviceIds.map((id) => h('span.chip', id))) : h('span.muted', 'nobody')),
        h('td.nowrap', isoTime(p.ModifyTime)),
        h('td.actions-cell', h('button.quiet.small', {
          type: 'button',
          onclick: () => change({
            confirm: `Clear the ${mode} list of ${p.RemoteDeviceId}?`,
            run: () => call('BatchDeletePolicy', { ProjectId: project, RemoteDeviceIds: [p.RemoteDeviceId], PolicyMode: mode }),
            done: `The ${mode} list of ${p.RemoteDeviceId} is cleared.`,
            failed: 'The list was not cleared',
          }),
        }, 'Clear')))))));
  }

  await list();
  return undefined;
}
