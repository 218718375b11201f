// Container names: Docker's rules, and generated adjective_surname names.
import { randomInt } from 'node:crypto';
import { checkContainerName } from '../../../common/grammar/index.ts';

const ADJECTIVES = ['admiring', 'agile', 'amazing', 'bold', 'brave', 'calm', 'clever', 'cool', 'crisp', 'dazzling',
  'eager', 'elastic', 'epic', 'fervent', 'focused', 'gallant', 'gifted', 'happy', 'hopeful', 'jolly', 'keen', 'kind',
  'lucid', 'modest', 'nifty', 'noble', 'optimistic', 'patient', 'pensive', 'quirky', 'relaxed', 'serene', 'sharp',
  'steady', 'sweet', 'tender', 'trusting', 'upbeat', 'vibrant', 'vigilant', 'wizardly', 'youthful', 'zealous'];
const SURNAMES = ['albattani', 'babbage', 'banach', 'bardeen', 'bell', 'bohr', 'borg', 'cannon', 'curie', 'darwin',
  'dijkstra', 'einstein', 'euler', 'faraday', 'fermat', 'feynman', 'franklin', 'galileo', 'gauss', 'goldberg',
  'goodall', 'hamilton', 'hawking', 'hopper', 'hypatia', 'johnson', 'kepler', 'knuth', 'lamarr', 'lovelace',
  'maxwell', 'meitner', 'newton', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson', 'torvalds', 'turing',
  'wilson', 'wozniak', 'yalow'];

/** Docker's rule (common/grammar), the one the run form and the contract check too. */
export const validateName = checkContainerName;

export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; ; i++) {
    const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
    const name = i < 10 ? base : `${base}${randomInt(10)}`;
    if (!taken(name)) return name;
  }
}
