import { mount } from 'svelte';
import App from './App.svelte';
import { createClient } from './lib/api';
import './styles.css';

const target = document.getElementById('app');
if (!target) throw new Error('#app missing from index.html');
mount(App, { target, props: { client: createClient() } });
