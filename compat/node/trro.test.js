// The vendor's Node.js SDK (`tencentcloud-sdk-nodejs`, pinned in package-lock.json) against a real
// `teleoscope serve`: the typed TRRO client for projects, devices, sessions and errors, and the SDK's
// CommonClient with device credentials for the device API (docs/api.md §4).
//
// Run by compat/test_node_sdk.py, once per endpoint form (`127.0.0.1:<port>` and `localhost:<port>`).
// Standalone: COMPAT_ENDPOINT=127.0.0.1:8080 COMPAT_SECRET_ID=... COMPAT_SECRET_KEY=... \
//             node --test compat/node/trro.test.js
//
// What this SDK does on the wire (common/sign.js, common/http/http_connection.js): it sends
// `Host: <hostname>:<port>` but signs `host:<hostname>`, and signs for the service named by the
// endpoint's first label (`127` for 127.0.0.1:<port>, `localhost:<port>` for localhost:<port>).

"use strict";

const { describe, test } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const tencentcloud = require("tencentcloud-sdk-nodejs");
const { CommonClient } = require("tencentcloud-sdk-nodejs/tencentcloud/common");
const TencentCloudSDKHttpException =
  require("tencentcloud-sdk-nodejs/tencentcloud/common/exception/tencent_cloud_sdk_exception").default;

const TrroClient = tencentcloud.trro.v20220325.Client;

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set (see the head of compat/node/trro.test.js)`);
  }
  return value;
}

const ENDPOINT = env("COMPAT_ENDPOINT");
const REGION = "ap-guangzhou";
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function profile() {
  return { language: "en-US", httpProfile: { endpoint: ENDPOINT, protocol: "http://" } };
}

const client = new TrroClient({
  credential: { secretId: env("COMPAT_SECRET_ID"), secretKey: env("COMPAT_SECRET_KEY") },
  region: REGION,
  profile: profile(),
});

/** A device's own client: SecretId `<ProjectId>:<DeviceId>`, its DeviceToken as the key. */
function deviceClient(projectId, deviceId, token) {
  return new CommonClient(ENDPOINT, "2022-03-25", {
    credential: { secretId: `${projectId}:${deviceId}`, secretKey: token },
    region: REGION,
    profile: profile(),
  });
}

function suffix() {
  return crypto.randomBytes(4).toString("hex");
}

function token() {
  return crypto.randomBytes(8).toString("hex");
}

/** The TencentCloudSDKHttpException that `promise` rejects with; fails if it resolves. */
async function sdkError(promise) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    assert.ok(err instanceof TencentCloudSDKHttpException, `not an SDK exception: ${err}`);
    return err;
  }
  assert.fail(`expected an error, got ${JSON.stringify(result)}`);
}

async function newProject(tag) {
  const name = `node_${tag}_${suffix()}`;
  const { ProjectId, RequestId } = await client.CreateProject({ ProjectName: name });
  assert.match(RequestId, UUID_RE);
  assert.match(ProjectId, /^[a-z0-9]{16}$/);
  return { projectId: ProjectId, name };
}

describe(`Node.js SDK against ${ENDPOINT}`, () => {
  test("projects: create, list, info, modify, delete", async () => {
    const { projectId, name } = await newProject("prj");

    const list = await client.DescribeProjectList({ PageNumber: 1, PageSize: 100 });
    const listed = list.Projects.filter((p) => p.ProjectId === projectId);
    assert.deepEqual(listed.map((p) => p.ProjectName), [name]);
    assert.equal(list.Total, list.Projects.length);

    const info = await client.DescribeProjectInfo({ ProjectId: projectId });
    assert.equal(info.ProjectName, name);

    await client.ModifyProject({
      ProjectId: projectId,
      ProjectName: `${name}_v2`,
      ProjectDescription: "renamed by the Node.js SDK",
    });
    const after = await client.DescribeProjectInfo({ ProjectId: projectId });
    assert.equal(after.ProjectName, `${name}_v2`);
    assert.equal(after.ProjectDescription, "renamed by the Node.js SDK");

    await client.DeleteProject({ ProjectId: projectId });
    const gone = await sdkError(client.DescribeProjectInfo({ ProjectId: projectId }));
    assert.equal(gone.code, "ResourceNotFound");
  });

  test("devices: create, list, info, delete", async () => {
    const { projectId } = await newProject("dev");
    await client.CreateDevice({
      ProjectId: projectId,
      DeviceId: "truck_1",
      DeviceName: "Truck_one",
      DeviceType: "field",
      DeviceToken: token(),
    });
    await client.CreateDevice({
      ProjectId: projectId,
      DeviceId: "op_1",
      DeviceName: "Operator_one",
      DeviceType: "remote",
      DeviceToken: token(),
    });

    const list = await client.DescribeDeviceList({ ProjectId: projectId, PageNumber: 1, PageSize: 10 });
    assert.equal(list.Total, 2);
    assert.deepEqual(list.Devices.map((d) => d.DeviceId).sort(), ["op_1", "truck_1"]);
    const fields = await client.DescribeDeviceList({
      ProjectId: projectId,
      PageNumber: 1,
      PageSize: 10,
      DeviceType: "field",
    });
    assert.deepEqual(fields.Devices.map((d) => d.DeviceId), ["truck_1"]);

    const info = await client.DescribeDeviceInfo({ ProjectId: projectId, DeviceId: "truck_1" });
    assert.equal(info.DeviceName, "Truck_one");
    assert.equal(info.DeviceType, "field");
    assert.equal(info.DeviceStatus, "offline");

    const deleted = await client.BatchDeleteDevices({
      ProjectId: projectId,
      DeviceIds: ["truck_1", "op_1", "nope"],
    });
    assert.deepEqual(deleted.FailedDeviceIds, ["nope"]);
    const empty = await client.DescribeDeviceList({ ProjectId: projectId, PageNumber: 1, PageSize: 10 });
    assert.equal(empty.Total, 0);
  });

  test("sessions: a session reported through the device API is listed and detailed", async () => {
    const { projectId } = await newProject("ses");
    const truckToken = token();
    await client.CreateDevice({
      ProjectId: projectId,
      DeviceId: "truck_1",
      DeviceName: "Truck_one",
      DeviceType: "field",
      DeviceToken: truckToken,
    });
    await client.CreateDevice({
      ProjectId: projectId,
      DeviceId: "op_1",
      DeviceName: "Operator_one",
      DeviceType: "remote",
      DeviceToken: token(),
    });

    const sessionId = `node-${suffix()}`;
    const start = Math.floor(Date.now() / 1000) - 60;
    const truck = deviceClient(projectId, "truck_1", truckToken);
    const report = await truck.request("ReportSessionMetrics", {
      SessionId: sessionId,
      PeerDeviceId: "op_1",
      StartTime: start,
      Ver: "2.4",
      SdkMode: "server2",
      Width: 1280,
      Height: 720,
      Samples: [0, 2, 4].map((t) => ({ TimeOffset: t, Rate: 800, Fps: 20, CpuUsed: 35.02 })),
      Final: true,
    });
    assert.equal(report.Accepted, 3);

    const list = await client.DescribeDeviceSessionList({
      ProjectId: projectId,
      PageNumber: 1,
      PageSize: 10,
    });
    assert.equal(list.Total, 1);
    const [session] = list.DeviceSessionList;
    assert.equal(session.SessionId, sessionId);
    assert.equal(session.FieldDeviceId, "truck_1");
    assert.equal(session.RemoteDeviceId, "op_1");
    assert.equal(session.StartTime, start);

    const details = await client.DescribeDeviceSessionDetails({ SessionId: sessionId });
    assert.equal(details.Details.length, 1);
    const [part] = details.Details;
    assert.equal(part.DeviceId, "truck_1");
    assert.equal(part.DeviceType, "field");
    assert.equal(part.ProjectId, projectId);
    assert.deepEqual(part.TimeOffset, [0, 2, 4]);
    assert.deepEqual(part.Fps, [20, 20, 20]);
    assert.deepEqual(part.CpuUsed, [35.02, 35.02, 35.02]);
  });

  test("errors arrive as TencentCloudSDKHttpException with the code, message and RequestId", async () => {
    const madeUp = `zz${crypto.randomBytes(7).toString("hex")}`;
    const missing = await sdkError(client.DescribeProjectInfo({ ProjectId: madeUp }));
    assert.equal(missing.code, "ResourceNotFound");
    assert.ok(missing.message.includes(madeUp), `message should name the id: ${missing.message}`);
    assert.match(missing.requestId, UUID_RE);

    const tooBig = await sdkError(client.DescribeProjectList({ PageNumber: 1, PageSize: 101 }));
    assert.equal(tooBig.code, "InvalidParameterValue");
    assert.ok(tooBig.message.includes("PageSize"), `message should name PageSize: ${tooBig.message}`);
  });
});
