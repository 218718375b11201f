// Machines: Berth's engine in a Linux VM the app keeps. The list, first-run creation, start
// (with the progress the app reports while it builds the guest image and boots), stop,
// settings applied at the next start, and the VM's console.
import type { AppState, Actions } from '../appStore.ts';
import type { SliceContext } from './context.ts';

type MachinesState = Pick<AppState, 'machines' | 'machineConsole'>;
type MachinesActions = Pick<Actions, 'loadMachines' | 'createMachine' | 'startMachine' | 'stopMachine' | 'setMachine' | 'removeMachine' | 'loadMachineConsole'>;

export function machinesSlice({ set, get, call }: SliceContext): MachinesState & MachinesActions {
  return {
    async loadMachines() {
      const list = await call('machines.list', {});
      if (list) set({ machines: list });
    },
    async createMachine(a) {
      const r = await call('machines.create', a);
      if (r === undefined) return false;
      await get().loadMachines();
      return get().startMachine(a.name ?? 'default');
    },
    async startMachine(name) {
      const r = await call('machines.start', { name }, `machine ${name} is running`);
      await get().loadMachines();
      void get().loadEngines();
      return r !== undefined;
    },
    async stopMachine(name) {
      const r = await call('machines.stop', { name }, `machine ${name} stopped`);
      await get().loadMachines();
      void get().loadEngines();
      return r !== undefined;
    },
    async setMachine(a) {
      const r = await call('machines.set', a, `machine ${a.name}: applied at the next start`);
      await get().loadMachines();
      return r !== undefined;
    },
    removeMachine(name) {
      get().ask({
        title: `Remove the machine ${name}?`, body: 'Its data disk goes with it: every image, container and volume in the machine. Host folders it shared are not touched.', action: 'Remove',
        run: () => void call('machines.remove', { name }, `machine ${name} removed`).then(() => {
          set({ machines: (get().machines ?? []).filter((m) => m.name !== name) });
          void get().loadEngines();
        }),
      });
    },
    async loadMachineConsole(name) {
      const r = await call('machines.console', { name });
      set({ machineConsole: r ? { name, lines: r.lines } : undefined });
    },
  };
}
