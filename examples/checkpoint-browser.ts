/// <reference lib="dom" />
import { decodeState, encodeState } from 'rmsprop';
import type { RMSProp } from 'rmsprop';

// A download: a Blob of the bytes behind a link (the file a user keeps or uploads later).
export function downloadLink(opt: RMSProp): HTMLAnchorElement {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([encodeState(opt)], { type: 'application/octet-stream' }));
  link.download = 'optimizer.safetensors';
  return link; // link.click(), then URL.revokeObjectURL(link.href)
}

// A file the user picks (<input type="file">), or any Blob or fetch() response.
export async function loadBlob(opt: RMSProp, file: Blob): Promise<void> {
  opt.loadStateDict(decodeState(new Uint8Array(await file.arrayBuffer())));
}

// The origin private file system (OPFS): the file changes only when the writable closes.
export async function saveToOPFS(opt: RMSProp, name: string): Promise<void> {
  const folder = await navigator.storage.getDirectory();
  const writable = await (await folder.getFileHandle(name, { create: true })).createWritable();
  await writable.write(encodeState(opt));
  await writable.close();
}

export async function loadFromOPFS(opt: RMSProp, name: string): Promise<void> {
  const folder = await navigator.storage.getDirectory();
  await loadBlob(opt, await (await folder.getFileHandle(name)).getFile());
}

// IndexedDB: the bytes under a key (opt.stateDict() itself can be stored too: structured clone).
function store(mode: IDBTransactionMode, use: (s: IDBObjectStore) => IDBRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('checkpoints', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('states');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const request = use(open.result.transaction('states', mode).objectStore('states'));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    };
  });
}

export async function saveToIndexedDB(opt: RMSProp, key: string): Promise<void> {
  const bytes = encodeState(opt);
  await store('readwrite', (s) => s.put(bytes, key));
}

export async function loadFromIndexedDB(opt: RMSProp, key: string): Promise<void> {
  opt.loadStateDict(decodeState((await store('readonly', (s) => s.get(key))) as Uint8Array));
}
